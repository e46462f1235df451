// The gateway as an OAuth 2.1 protected resource, against a real authorization server (oidc-provider):
// discovery through RFC 9728 metadata, authorization code + PKCE by an SDK v2 client, client credentials
// by a machine, per-principal policies in both eras and on /sse, and no token passed upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Client,
  ClientCredentialsProvider,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { MACHINE_CLIENT, PUBLIC_CLIENT, SCOPES } from '../../fixtures/auth/authorization-server.js'
import { killAll } from '../helpers/processes.js'
import { type AuthWorld, startAuthWorld } from './setup.js'

type Era = '2025-11-25' | '2026-07-28'
const ERAS: Era[] = ['2025-11-25', '2026-07-28']

let world: AuthWorld
let mcpUrl: URL
const clients: { close(): Promise<void> }[] = []

/** A browserless OAuth client: the pre-registered public client, its tokens and PKCE verifier kept in memory. */
class InMemoryProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined
  private saved: Awaited<ReturnType<OAuthClientProvider['tokens']>>
  private verifier = ''
  readonly redirectUrl = PUBLIC_CLIENT.redirectUri
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'auth-suite', redirect_uris: [PUBLIC_CLIENT.redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' }
  }
  clientInformation() {
    return { client_id: PUBLIC_CLIENT.id, issuer: world.as.issuer }
  }
  tokens() {
    return this.saved
  }
  saveTokens(tokens: NonNullable<Awaited<ReturnType<OAuthClientProvider['tokens']>>>) {
    this.saved = tokens
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier
  }
  codeVerifier() {
    return this.verifier
  }
  private discovery: unknown
  saveDiscoveryState(state: unknown) {
    this.discovery = state
  }
  discoveryState() {
    return this.discovery as never
  }
}

function sdkClient(era: Era): Client {
  const client = new Client({ name: 'auth-suite', version: '1.0.0' }, { versionNegotiation: { mode: era === '2025-11-25' ? 'legacy' : { pin: era } } })
  clients.push(client)
  return client
}

/** Logs `user` in through the authorization server (authorization code + PKCE), then connects in `era`. */
async function connectAsUser(user: string, era: Era): Promise<{ client: Client; provider: InMemoryProvider }> {
  const provider = new InMemoryProvider()
  const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })
  await expect(sdkClient(era).connect(first)).rejects.toBeInstanceOf(UnauthorizedError)
  expect(provider.authorizationUrl?.searchParams.get('code_challenge_method')).toBe('S256')
  const callback = await world.as.authorize(provider.authorizationUrl!, user)
  await first.finishAuth(callback.searchParams)
  const client = sdkClient(era)
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))
  return { client, provider }
}

async function connectAsMachine(era: Era): Promise<Client> {
  const authProvider = new ClientCredentialsProvider({ clientId: MACHINE_CLIENT.id, clientSecret: MACHINE_CLIENT.secret, scope: 'mcp:tools', expectedIssuer: world.as.issuer })
  const client = sdkClient(era)
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider }))
  return client
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort()
const textOf = (result: unknown) => (result as { content: { text?: string }[] }).content[0]?.text

beforeAll(async () => {
  world = await startAuthWorld()
  mcpUrl = new URL('/mcp', world.gateway.url)
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await world?.close()
  await killAll()
})

describe('protected resource metadata and challenges', () => {
  it('answers RFC 9728 metadata at the root and path-suffixed well-known URLs', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      // A browser-based client on another origin may read it (it holds nothing secret).
      const response = await fetch(new URL(path, world.gateway.url), { headers: { origin: 'https://app.example' } })
      expect(response.status).toBe(200)
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(await response.json()).toEqual({
        resource: mcpUrl.href,
        authorization_servers: [world.as.issuer],
        scopes_supported: SCOPES,
        bearer_methods_supported: ['header'],
      })
    }
  })

  it('answers a request without a token with 401 and where to find the metadata', async () => {
    const response = await fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', world.gateway.url).href}", scope="${SCOPES.join(' ')}"`,
    )
  })
})

describe.each(ERAS)('principals through the gateway (%s)', (era) => {
  it('lets a user log in with authorization code + PKCE and see only the tools of their policy', async () => {
    const { client } = await connectAsUser('alice', era)
    expect(await toolNames(client)).toEqual(['search', 'search_docs', 'search_reindex', 'searchable'])
    expect(textOf(await client.callTool({ name: 'search', arguments: { query: 'refund' } }))).toBe('search:refund')
    await expect(client.callTool({ name: 'deploy', arguments: {} })).rejects.toThrow(/deploy/)
  })

  it('gives a second user with other claims only their own tools', async () => {
    const { client } = await connectAsUser('bob', era)
    expect(await toolNames(client)).toEqual(['db-query', 'deploy'])
    expect(textOf(await client.callTool({ name: 'deploy', arguments: {} }))).toBe('deployed')
    await expect(client.callTool({ name: 'search', arguments: { query: 'x' } })).rejects.toThrow(/search/)
  })

  it('finds only the tools of its policy with search_tools (discovery: search)', async () => {
    const { client } = await connectAsUser('carol', era)
    expect(await toolNames(client)).toEqual(['call_tool', 'describe_tools', 'search_tools'])
    const found = JSON.parse(textOf(await client.callTool({ name: 'search_tools', arguments: { query: 'search searchable docs deploy reindex index sql query production' } })) ?? '{}') as { tools: { name: string }[] }
    expect(found.tools.map((t) => t.name).sort()).toEqual(['search', 'search_docs', 'searchable'])
    const called = await client.callTool({ name: 'call_tool', arguments: { name: 'deploy', arguments: {} } }).catch((e: Error) => e)
    expect(String((called as Error).message ?? textOf(called))).toMatch(/deploy/)
  })

  it('lets a machine call with client credentials', async () => {
    const client = await connectAsMachine(era)
    expect(await toolNames(client)).toEqual(['whoami'])
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('a')
  })
})

describe('the legacy /sse front', () => {
  it('applies the principal policy there too', async () => {
    const token = await world.machineToken()
    const client = new LegacyClient({ name: 'auth-suite-sse', version: '1' })
    clients.push(client)
    const headers = { authorization: `Bearer ${token}` }
    await client.connect(new SSEClientTransport(new URL('/sse', world.gateway.url), { requestInit: { headers }, eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) } }))
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['whoami'])
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('a')
  })
})

describe('token passthrough', () => {
  it('never sends a client token to the upstream', async () => {
    const client = await connectAsMachine('2026-07-28')
    await client.callTool({ name: 'whoami', arguments: {} })
    expect(world.upstreamAuthorizations.length).toBeGreaterThan(0)
    expect(world.upstreamAuthorizations.every((header) => header === undefined)).toBe(true)
    expect(world.gateway.stderr() + world.gateway.stdout()).not.toMatch(/eyJ[\w-]+\.[\w-]+\./)
  })
})
