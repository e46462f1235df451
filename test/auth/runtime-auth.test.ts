// defineServer({ auth }): any airmcp HTTP server as an OAuth protected resource through the same code as
// the gateway, with the caller's principal in the tool handler's `ctx.auth`, in both eras.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { type AuthorizationServer, MACHINE_CLIENT, startAuthorizationServer } from '../../fixtures/auth/authorization-server.js'
import { killAll, type Started, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { AUDIENCE } from './setup.js'

let as: AuthorizationServer
let server: Started
const clients: Client[] = []

beforeAll(async () => {
  as = await startAuthorizationServer((resource) => (/^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(resource) ? AUDIENCE : undefined))
  server = await startListening([...TSX_NODE_ARGS, 'fixtures/auth/protected-server.ts'], {
    env: { OAUTH_ISSUER: as.issuer, OAUTH_AUDIENCE: AUDIENCE, AIRMCP_PORT: '0' },
  })
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await as?.close()
  await killAll()
})

describe('defineServer({ auth })', () => {
  it('serves RFC 9728 metadata and refuses a request without a token', async () => {
    const metadata = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', server.url))
    expect(await metadata.json()).toMatchObject({ resource: server.url, authorization_servers: [as.issuer], bearer_methods_supported: ['header'] })
    const refused = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', server.url).href}", scope="mcp:tools"`,
    )
  })

  it.each(['2025-11-25', '2026-07-28'])('gives the tool handler the caller as ctx.auth (%s)', async (era) => {
    const authProvider = new ClientCredentialsProvider({ clientId: MACHINE_CLIENT.id, clientSecret: MACHINE_CLIENT.secret, scope: 'mcp:tools', expectedIssuer: as.issuer })
    const client = new Client({ name: 'runtime-auth', version: '1' }, { versionNegotiation: { mode: era === '2025-11-25' ? 'legacy' : { pin: era } } })
    clients.push(client)
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider }))
    const result = (await client.callTool({ name: 'whoami', arguments: {} })) as { content: { text: string }[] }
    expect(JSON.parse(result.content[0].text)).toEqual({ name: MACHINE_CLIENT.id, sub: MACHINE_CLIENT.id, clientId: MACHINE_CLIENT.id, scopes: ['mcp:tools'] })
  })
})
