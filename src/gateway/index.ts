/**
 * airmcp/gateway: one MCP endpoint over many MCP servers.
 *
 * Names: a tool or prompt offered by one pool keeps its name; one offered by several pools is exposed
 * once per pool as `<pool>__<name>`. Calls go to a healthy member of the owning pool, chosen by the
 * balancer; a connection failure is retried once on another member.
 */
export { Gateway } from './gateway.js'
export type { BalancerName, Connection, GatewayOptions, Registration, ServerInfo, UpstreamStatus } from './types.js'
export { buildRoutes, type Route, type ToolNaming } from './names/index.js'
export type { AuditOption, DiscoveryMode, GatewayClient, NamePolicy, PrincipalMatch, RateLimit } from './security/index.js'
export type { ResourceAuthOptions } from '../http/oauth-resource.js'
export type { Principal } from '../http/principal.js'
