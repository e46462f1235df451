// Shared by the resource-server suites: a real authorization server (oidc-provider), an upstream behind a
// proxy that records every Authorization header it is sent, and a gateway process with `auth` on.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { GatewayClient, GatewayOptions } from 'airmcp/gateway'
import { SignJWT, importJWK, type JWTPayload } from 'jose'
import { type AuthorizationServer, clientCredentialsToken, SCOPES, startAuthorizationServer } from '../../fixtures/auth/authorization-server.js'
import { type HostileGateway, startGateway } from '../hostile/harness.js'
import { startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

/** The gateway's `aud` (Entra-style: a name, not its URL); the authorization server maps our resource URL to it. */
export const AUDIENCE = 'api://airmcp-test-gateway'
/** Another resource the same authorization server issues tokens for (a confused-deputy token). */
export const OTHER_RESOURCE = 'https://other.example/mcp'

export const POLICIES: GatewayClient[] = [
  { name: 'support', match: { claims: { groups: 'support' } }, tools: { allow: ['search*'] } },
  { name: 'engineering', match: { claims: { groups: 'engineering' } }, tools: { allow: ['deploy', 'db-*'] } },
  { name: 'finders', match: { claims: { groups: ['finder', 'search-only'] } }, discovery: 'search', tools: { allow: ['search*'], deny: ['search_reindex'] } },
  { name: 'machines', match: { scopes: ['mcp:tools'] }, tools: { allow: ['whoami'] } },
]

export interface AuthWorld {
  as: AuthorizationServer
  gateway: HostileGateway
  /** Every Authorization header the upstream was sent. */
  upstreamAuthorizations: (string | undefined)[]
  /** A token the authorization server issues the machine client (client credentials) for `resource`. */
  machineToken(resource?: string, scope?: string): Promise<string>
  /** A token signed with the authorization server's own key, claims chosen by the test. */
  forge(claims: JWTPayload, header?: { kid?: string; alg?: string }): Promise<string>
  close(): Promise<void>
}

/** Proxies to `target`, recording the Authorization header of each request (the upstream's view). */
async function recordingProxy(target: string, seen: (string | undefined)[]): Promise<{ url: string; server: http.Server }> {
  const upstream = new URL(target)
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization)
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        // As a streaming proxy does: an SSE stream's head goes on before its first event.
        res.flushHeaders()
        answer.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}`, server }
}

export async function startAuthWorld(options: Partial<GatewayOptions> = {}): Promise<AuthWorld> {
  const as = await startAuthorizationServer((resource) =>
    resource === OTHER_RESOURCE ? OTHER_RESOURCE : /^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(resource) ? AUDIENCE : undefined,
  )
  const team = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/team.ts'], { env: { TEAM: 'a', TRANSPORT: 'http', AIRMCP_PORT: '0' } })
  const upstreamAuthorizations: (string | undefined)[] = []
  const proxy = await recordingProxy(team.url, upstreamAuthorizations)
  const gateway = await startGateway(
    { auth: { issuer: as.issuer, audience: AUDIENCE, scopesSupported: SCOPES }, clients: POLICIES, ...options },
    [{ id: 'team-1', name: 'team', connection: { type: 'http', url: proxy.url } }],
  )
  const gatewayResource = new URL('/mcp', gateway.url).href
  const key = await importJWK(as.signingKey, 'RS256')
  return {
    as,
    gateway,
    upstreamAuthorizations,
    machineToken: (resource = gatewayResource, scope = 'mcp:tools') => clientCredentialsToken(as.issuer, resource, scope),
    forge: (claims, header = {}) =>
      new SignJWT({ iss: as.issuer, aud: AUDIENCE, sub: 'mallory', scope: 'mcp:tools', ...claims })
        .setProtectedHeader({ alg: header.alg ?? 'RS256', kid: header.kid ?? (as.signingKey.kid as string), typ: 'at+jwt' })
        .setIssuedAt()
        .setExpirationTime(claims.exp ?? '5m')
        .sign(key),
    async close() {
      await as.close()
      await new Promise<void>((resolve) => {
        proxy.server.closeAllConnections()
        proxy.server.close(() => resolve())
      })
    },
  }
}
