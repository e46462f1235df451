// Who may do what: client policies and principals, the request guard (rate limits, policy, audit around every forwarded request), the audit log, and the limits on what a client or an upstream may take.
export { AuditLog, type AuditOption, checkAuditOption, noteRoute, traceIdOf } from './audit.js'
export { assertDepth, type GatewayLimits, jsonSize, KeyedSemaphores, LIMIT_DEFAULTS, Semaphore, TOO_DEEP, TOO_LARGE } from './limits.js'
export {
  accessFor,
  type ClientAccess,
  createAuthenticator,
  createPrincipalAuthenticator,
  type DiscoveryMode,
  fullAccess,
  type GatewayClient,
  type NamePolicy,
  type PrincipalMatch,
  validateClients,
} from './policy.js'
export { checkRateLimit, type RateLimit, RateLimiter } from './rate-limit.js'
export { ANONYMOUS, type GuardedCaller, RequestGuard } from './request-guard.js'
