// Per-user consent across gateway replicas: two real gateway processes share a Redis token store behind a
// real haproxy (round robin, no stickiness). A consent started on one replica completes wherever the
// browser's callback lands; the call waiting for it goes on, on either replica; a replayed callback is
// refused by both.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { createClient } from '@redis/client'
import type { Registration } from 'airmcp/gateway'
import { type AuthorizationServer, GATEWAY_CLIENT, openConsentUrl, SCOPES, startAuthorizationServer, userAccessToken } from '../../fixtures/auth/authorization-server.js'
import { type HostileGateway, startGateway } from '../hostile/harness.js'
import { freePort, killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { type Redis, startRedis } from '../helpers/redis.js'
import { type Haproxy, hasHaproxy, startHaproxy } from '../replicas/haproxy.js'

const haproxy = hasHaproxy()
if (!haproxy && process.env.CI) throw new Error('test/auth/replica-consent needs haproxy in CI: run .ci/containers.sh first.')

const GATEWAY_AUDIENCE = 'api://airmcp-test-gateway'
const UPSTREAM_AUDIENCE = 'api://upstream-alpha'
const STORE_KEY = 'a-test-token-store-key-of-at-least-32-characters'

let as: AuthorizationServer
let redis: Redis
let lb: Haproxy
let replicas: HostileGateway[]
let dir: string
const clients: Client[] = []

/** `user`'s 2026 or 2025 client on `url`; `onConsent` plays their browser for a URL elicitation. */
async function userClient(url: string, user: string, era: '2025-11-25' | '2026-07-28', onConsent?: (url: string) => Promise<void>): Promise<Client> {
  const client = new Client(
    { name: `${user}-client`, version: '1.0.0' },
    { capabilities: onConsent ? { elicitation: { url: {} } } : {}, versionNegotiation: { mode: era === '2025-11-25' ? 'legacy' : { pin: era } } },
  )
  if (onConsent) {
    client.setRequestHandler('elicitation/create', async (request) => {
      await onConsent((request.params as { url: string }).url)
      return { action: 'accept' }
    })
  }
  const front = await userAccessToken(as, user, new URL('/mcp', url).href)
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${front}` } } }))
  clients.push(client)
  return client
}

async function whoami(client: Client): Promise<string> {
  const result = (await client.callTool({ name: 'alpha_whoami', arguments: {} })) as { content: { text: string }[]; isError?: boolean }
  expect(result.isError, result.content[0]?.text).toBeFalsy()
  return (JSON.parse(result.content[0].text) as { sub: string }).sub
}

/** `url` with its origin swapped for `replica`'s: the browser's request as a load balancer would route it there. */
const on = (replica: HostileGateway, url: string | URL) => {
  const moved = new URL(url)
  const origin = new URL(replica.url)
  moved.host = origin.host
  return moved
}

beforeAll(async () => {
  if (!haproxy) return
  dir = await mkdtemp(join(tmpdir(), 'airmcp-replica-consent-'))
  let upstreamUrl = ''
  as = await startAuthorizationServer((resource) =>
    resource === upstreamUrl ? UPSTREAM_AUDIENCE : /^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(resource) ? GATEWAY_AUDIENCE : undefined,
  )
  redis = await startRedis()
  upstreamUrl = (await startListening([...TSX_NODE_ARGS, 'fixtures/auth/protected-server.ts'], { env: { OAUTH_ISSUER: as.issuer, OAUTH_AUDIENCE: UPSTREAM_AUDIENCE, AIRMCP_PORT: '0' } })).url
  const registrations: Registration[] = [
    {
      id: 'alpha-1',
      name: 'alpha',
      tools: { prefix: 'alpha_' },
      connection: { type: 'http', url: upstreamUrl, auth: { mode: 'per-user', clientId: GATEWAY_CLIENT.id, clientSecret: GATEWAY_CLIENT.secret, scope: 'mcp:tools' } },
    },
  ]
  // The replicas' public URL is the load balancer's: the authorization server sends browsers back through it.
  const port = await freePort()
  replicas = await Promise.all(
    [1, 2].map(() =>
      startGateway(
        {
          authToken: undefined,
          auth: { issuer: as.issuer, audience: GATEWAY_AUDIENCE, scopesSupported: SCOPES },
          tokenStore: redis.url,
          tokenStoreKey: STORE_KEY,
          publicUrl: `http://127.0.0.1:${port}`,
        },
        registrations,
      ),
    ),
  )
  lb = await startHaproxy(
    replicas.map((replica) => new URL(replica.url).origin),
    port,
  )
}, 90_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.close()))
  await lb?.stop()
  await killAll()
  await as?.close()
  await redis?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe.skipIf(!haproxy)('per-user consent across gateway replicas behind haproxy', () => {
  it('a consent through haproxy completes wherever its callback lands; the next calls succeed on either replica; a replayed callback is refused by both', async () => {
    const callbacks: URL[] = []
    const alice = await userClient(`${lb.url}/mcp`, 'alice', '2026-07-28', async (url) => {
      const { callback, page } = await openConsentUrl(as, url, 'alice')
      callbacks.push(callback)
      expect(page.status, await page.clone().text()).toBe(200)
    })
    expect(await whoami(alice)).toBe('alice')
    expect(callbacks).toHaveLength(1)
    expect(callbacks[0].origin).toBe(lb.url)

    // No browser now: through haproxy, and pinned to each replica, alice's call carries her token.
    expect(await whoami(await userClient(`${lb.url}/mcp`, 'alice', '2026-07-28'))).toBe('alice')
    for (const replica of replicas) expect(await whoami(await userClient(replica.url, 'alice', '2026-07-28'))).toBe('alice')

    for (const replica of replicas) {
      const replay = await fetch(on(replica, callbacks[0]))
      expect(replay.status).toBe(400)
      expect(await replay.text()).toMatch(/unknown or was already used\. Nothing was stored/)
    }
    expect(await whoami(await userClient(`${lb.url}/mcp`, 'alice', '2026-07-28'))).toBe('alice')

    // What the replicas share of the consent (its PKCE verifier among it) names nobody and shows nothing.
    const reader = createClient({ url: redis.url })
    await reader.connect()
    const names = await reader.keys('airmcp:upstream-consents:*')
    const values = await Promise.all(names.map((name) => reader.get(name)))
    await reader.close()
    expect(names.length).toBeGreaterThan(0)
    const shared = `${names.join(' ')} ${values.join(' ')}`
    for (const field of ['alice', 'verifier', callbacks[0].searchParams.get('state')!, UPSTREAM_AUDIENCE]) expect(shared).not.toContain(field)
  })

  it("a 2025 call waiting on one replica goes on when the user's browser comes back to the other", async () => {
    const [first, second] = replicas
    let browser: Promise<number> | undefined
    const bob = await userClient(first.url, 'bob', '2025-11-25', async (url) => {
      // As a client does with a URL elicitation: accept (the link is opened), and the browser goes on by itself.
      browser = (async () => {
        const callback = await as.authorize(new URL(url), 'bob', new URL(url).searchParams.get('redirect_uri')!)
        return (await fetch(on(second, callback))).status
      })()
    })
    expect(await whoami(bob)).toBe('bob')
    expect(await browser).toBe(200)
    expect(await whoami(await userClient(second.url, 'bob', '2026-07-28'))).toBe('bob')
  })
})

