// The gateway as an OAuth 2.1 client of protected upstreams, against a real authorization server
// (oidc-provider) and two airmcp servers protected by it: per-user tokens asked for by a URL elicitation
// (both eras), on-behalf-of by token exchange, the encrypted token store across a restart, and bad input
// at discovery and at the callback refused with nothing stored.
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Gateway, type Registration } from 'airmcp/gateway'
import { decodeJwt } from 'jose'
import { type AuthorizationServer, GATEWAY_CLIENT, openConsentUrl, SCOPES, startAuthorizationServer, userAccessToken } from '../../fixtures/auth/authorization-server.js'
import { UpstreamAuthError } from '../../src/gateway/upstreams/auth/authorization-server.js'
import { UpstreamOAuth } from '../../src/gateway/upstreams/auth/oauth-client.js'
import { storeKey, unseal } from '../../src/gateway/upstreams/auth/token-store.js'
import { createClient } from '@redis/client'
import { type HostileGateway, startGateway } from '../hostile/harness.js'
import { killAll, killProcess, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { runCli } from '../helpers/cli.js'
import { type Redis, startRedis } from '../helpers/redis.js'

const GATEWAY_AUDIENCE = 'api://airmcp-test-gateway'
const AUDIENCE = { alpha: 'api://upstream-alpha', beta: 'api://upstream-beta', gamma: 'api://upstream-gamma', delta: 'api://upstream-delta', epsilon: 'api://upstream-epsilon' }
const STORE_KEY = 'a-test-token-store-key-of-at-least-32-characters'

let as: AuthorizationServer
let dir: string
let gateway: HostileGateway
let registrations: Registration[]
const audiences = new Map<string, string>()
const servers: http.Server[] = []
/** Every Authorization header each upstream was sent. */
const seen = { alpha: [] as string[], beta: [] as string[], gamma: [] as string[], delta: [] as string[], epsilon: [] as string[] }
/** The subjects of the tokens each upstream 2025 session was sent ('none', its method and status, for a request with no token), how many requests it had (initialize included), and whose session it is (the upstream's record). */
const sessions = new Map<string, { subs: Set<string>; requests: number; of: string[] }>()
const frontTokens: Record<string, string> = {}
const clients: Client[] = []

/** Proxies to `target`, recording the Authorization header of each request (the upstream's view). */
async function recordingProxy(target: string, record: string[]): Promise<string> {
  const upstream = new URL(target)
  const server = http.createServer((req, res) => {
    if (req.headers.authorization) record.push(req.headers.authorization)
    const forward = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      const id = answer.headers['mcp-session-id'] ?? req.headers['mcp-session-id']
      if (typeof id === 'string') {
        const session = sessions.get(id) ?? { subs: new Set<string>(), requests: 0, of: record }
        session.subs.add(req.headers.authorization ? String(bearerPayload(req.headers.authorization).sub) : `none ${req.method} ${answer.statusCode}`)
        session.requests++
        sessions.set(id, session)
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}`
}

async function protectedUpstream(audience: string, record: string[]): Promise<string> {
  const started = await startListening([...TSX_NODE_ARGS, 'fixtures/auth/protected-server.ts'], {
    env: { OAUTH_ISSUER: as.issuer, OAUTH_AUDIENCE: audience, AIRMCP_PORT: '0' },
  })
  const url = await recordingProxy(started.url, record)
  audiences.set(url, audience)
  return url
}

/** A user's access token for the gateway. */
const frontToken = (user: string) => userAccessToken(as, user, new URL('/mcp', gateway.url).href)

/**
 * `user`'s SDK client on the gateway in `era`. With `browser`, it declares URL elicitation and answers one
 * as a person would: the browser follows the link (login, consent) back to the gateway's callback.
 */
async function userClient(user: string, era: '2025-11-25' | '2026-07-28', browser: boolean, callbacks: string[] = []): Promise<Client> {
  const client = new Client(
    { name: `${user}-client`, version: '1.0.0' },
    { capabilities: browser ? { elicitation: { url: {} } } : {}, versionNegotiation: { mode: era === '2025-11-25' ? 'legacy' : { pin: era } } },
  )
  if (browser) {
    client.setRequestHandler('elicitation/create', async (request) => {
      const { callback, page } = await openConsentUrl(as, (request.params as { url: string }).url, user)
      callbacks.push(callback.href)
      expect(page.status, await page.clone().text()).toBe(200)
      return { action: 'accept' }
    })
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: { authorization: `Bearer ${frontTokens[user]}` } } }))
  clients.push(client)
  return client
}

async function whoami(client: Client, tool: string): Promise<{ sub: string; clientId: string }> {
  const result = (await client.callTool({ name: tool, arguments: {} })) as { content: { text: string }[]; isError?: boolean }
  expect(result.isError, result.content[0]?.text).toBeFalsy()
  return JSON.parse(result.content[0].text)
}

const bearerPayload = (header: string) => decodeJwt(header.replace(/^Bearer /, ''))

function startTheGateway(tokenStore = join(dir, 'upstream-tokens.json')): Promise<HostileGateway> {
  return startGateway(
    { authToken: undefined, auth: { issuer: as.issuer, audience: GATEWAY_AUDIENCE, scopesSupported: SCOPES }, tokenStore, tokenStoreKey: STORE_KEY },
    registrations,
  )
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airmcp-upstream-auth-'))
  as = await startAuthorizationServer((resource) => audiences.get(resource) ?? (/^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(resource) ? GATEWAY_AUDIENCE : undefined))
  const client = { clientId: GATEWAY_CLIENT.id, clientSecret: GATEWAY_CLIENT.secret, scope: 'mcp:tools' }
  registrations = [
    { id: 'alpha-1', name: 'alpha', tools: { prefix: 'alpha_' }, connection: { type: 'http', url: await protectedUpstream(AUDIENCE.alpha, seen.alpha), auth: { mode: 'per-user', ...client } } },
    { id: 'beta-1', name: 'beta', tools: { prefix: 'beta_' }, connection: { type: 'http', url: await protectedUpstream(AUDIENCE.beta, seen.beta), auth: { mode: 'on-behalf-of', ...client } } },
    {
      id: 'gamma-1',
      name: 'gamma',
      tools: { prefix: 'gamma_' },
      connection: { type: 'http', url: await protectedUpstream(AUDIENCE.gamma, seen.gamma), auth: { mode: 'as-itself', ...client, tokenEndpointAuthMethod: 'client_secret_basic' } },
    },
    // A server spoken to in 2025-11-25 only, as most protected SaaS servers are: each of its sessions is bound to the token that opened it.
    { id: 'delta-1', name: 'delta', protocol: '2025-11-25', tools: { prefix: 'delta_' }, connection: { type: 'http', url: await protectedUpstream(AUDIENCE.delta, seen.delta), auth: { mode: 'per-user', ...client } } },
    { id: 'epsilon-1', name: 'epsilon', protocol: '2025-11-25', tools: { prefix: 'epsilon_' }, connection: { type: 'http', url: await protectedUpstream(AUDIENCE.epsilon, seen.epsilon), auth: { mode: 'on-behalf-of', ...client } } },
  ]
  gateway = await startTheGateway()
  frontTokens.alice = await frontToken('alice')
  frontTokens.bob = await frontToken('bob')
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.close()))
  await killAll()
  await as?.close()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
  await rm(dir, { recursive: true, force: true })
})

describe('the gateway as an OAuth client of protected upstreams', () => {
  it('per user: each caller consents once (a URL elicitation, in both eras), and each call carries their own token for that upstream', async () => {
    const aliceCallbacks: string[] = []
    const alice = await userClient('alice', '2026-07-28', true, aliceCallbacks)
    const bob = await userClient('bob', '2025-11-25', true)
    expect((await whoami(alice, 'alpha_whoami')).sub).toBe('alice')
    expect((await whoami(bob, 'alpha_whoami')).sub).toBe('bob')
    expect(aliceCallbacks).toHaveLength(1)
    // Held now: further calls ask nothing and stay each user's own.
    const [a, b] = await Promise.all([whoami(alice, 'alpha_whoami'), whoami(bob, 'alpha_whoami')])
    expect([a.sub, b.sub]).toEqual(['alice', 'bob'])
    expect(aliceCallbacks).toHaveLength(1)
    const tokens = seen.alpha.map(bearerPayload)
    expect(new Set(tokens.map((token) => token.aud))).toEqual(new Set([AUDIENCE.alpha]))
    // The users' tokens, and the gateway's own (its lists and pings, by client credentials).
    expect(new Set(tokens.map((token) => token.sub))).toEqual(new Set(['alice', 'bob', GATEWAY_CLIENT.id]))
    // A replayed redirect finds nothing to complete, and changes nothing.
    const replay = await fetch(aliceCallbacks[0])
    expect(replay.status).toBe(400)
    expect(await replay.text()).toMatch(/unknown or was already used/)
    expect((await whoami(alice, 'alpha_whoami')).sub).toBe('alice')
  })

  it('per user, 2025 callers: once their token is held, each rides an upstream 2025 session of their own, opened with their token', async () => {
    frontTokens.erin = await frontToken('erin')
    frontTokens.frank = await frontToken('frank')
    const [erin, frank] = await Promise.all([userClient('erin', '2025-11-25', true), userClient('frank', '2025-11-25', true)])
    const sessionOf = (user: string) => [...sessions.values()].filter((session) => session.subs.has(user))
    // The first call asks for consent (on the gateway's shared connection); the next ones open the user's session.
    expect([(await whoami(erin, 'alpha_whoami')).sub, (await whoami(frank, 'alpha_whoami')).sub]).toEqual(['erin', 'frank'])
    const [e, f] = await Promise.all([whoami(erin, 'alpha_whoami'), whoami(frank, 'alpha_whoami')])
    expect([e.sub, f.sub]).toEqual(['erin', 'frank'])
    const [erins, franks] = [sessionOf('erin'), sessionOf('frank')]
    expect(erins).toHaveLength(1)
    expect(franks).toHaveLength(1)
    // Each session carried its user's token alone, from its initialize on.
    expect([...erins[0].subs, ...franks[0].subs]).toEqual(['erin', 'frank'])
    // Further calls ride it.
    const before = erins[0].requests
    expect((await whoami(erin, 'alpha_whoami')).sub).toBe('erin')
    expect(erins[0].requests).toBe(before + 1)
  })

  it('per user, a 2025-only server: every upstream session carrying a user\'s calls is opened with that user\'s token and carries it alone, for 2025 and 2026 callers', async () => {
    frontTokens.erin ??= await frontToken('erin')
    frontTokens.frank ??= await frontToken('frank')
    const callbacks: string[] = []
    const [erin, frank] = await Promise.all([userClient('erin', '2025-11-25', true, callbacks), userClient('frank', '2025-11-25', true, callbacks)])
    // Neither has consented to delta: each is asked on their own session, and their session opens after it.
    expect([(await whoami(erin, 'delta_whoami')).sub, (await whoami(frank, 'delta_whoami')).sub]).toEqual(['erin', 'frank'])
    expect(callbacks).toHaveLength(2)
    const again = await Promise.all([whoami(erin, 'delta_whoami'), whoami(frank, 'delta_whoami')])
    expect(again.map((answer) => answer.sub)).toEqual(['erin', 'frank'])
    // 2026 clients of the same users (two of erin's) ride a session of their principal's, not the gateway's.
    const [erin26, erin26b, frank26] = await Promise.all([userClient('erin', '2026-07-28', false), userClient('erin', '2026-07-28', false), userClient('frank', '2026-07-28', false)])
    const modern = await Promise.all([whoami(erin26, 'delta_whoami'), whoami(frank26, 'delta_whoami'), whoami(erin26b, 'delta_whoami'), whoami(erin26, 'delta_whoami')])
    expect(modern.map((answer) => answer.sub)).toEqual(['erin', 'frank', 'erin', 'erin'])
    expect(callbacks).toHaveLength(2)
    // A 2026 caller without a token consents in an input_required round first; their session opens after it.
    frontTokens.grace = await frontToken('grace')
    const grace = await userClient('grace', '2026-07-28', true, callbacks)
    expect([(await whoami(grace, 'delta_whoami')).sub, (await whoami(grace, 'delta_whoami')).sub]).toEqual(['grace', 'grace'])
    expect(callbacks).toHaveLength(3)
    // A 2025 caller that cannot open URLs is told the link, and nothing of theirs goes upstream.
    frontTokens.dave ??= await frontToken('dave')
    const dave = (await (await userClient('dave', '2025-11-25', false)).callTool({ name: 'delta_whoami', arguments: {} })) as { content: { text: string }[]; isError?: boolean }
    expect(dave.isError).toBe(true)
    expect(dave.content[0].text).toMatch(/needs your authorization at 127\.0\.0\.1:\d+\. Try this: open http:\/\/127\.0\.0\.1:\d+\/auth\?\S+ in a browser/)
    expect(seen.delta.filter((header) => bearerPayload(header).sub === 'dave')).toEqual([])
    const deltas = [...sessions.values()].filter((session) => session.of === seen.delta)
    const usersOf = (user: string) => deltas.filter((session) => session.subs.has(user))
    // Each session a user's calls rode carried that user's token alone, from its initialize on: a 2025 session and one of their principal's.
    for (const [user, count] of [['erin', 2], ['frank', 2], ['grace', 1]] as const) {
      expect(usersOf(user)).toHaveLength(count)
      for (const session of usersOf(user)) expect([...session.subs]).toEqual([user])
    }
    // The rest is the gateway's own (its lists and pings), with its own token.
    for (const session of deltas.filter((session) => !['erin', 'frank', 'grace'].some((user) => session.subs.has(user)))) expect([...session.subs]).toEqual([GATEWAY_CLIENT.id])
    expect(new Set(seen.delta.map((header) => bearerPayload(header).aud))).toEqual(new Set([AUDIENCE.delta]))
  })

  it('on behalf of: each caller\'s token is exchanged for one whose audience is the upstream, no interaction, never the front token itself', async () => {
    const alice = await userClient('alice', '2026-07-28', false)
    const bob = await userClient('bob', '2025-11-25', false)
    const [a, b] = await Promise.all([whoami(alice, 'beta_whoami'), whoami(bob, 'beta_whoami')])
    expect([a.sub, b.sub]).toEqual(['alice', 'bob'])
    expect(a.clientId).toBe(GATEWAY_CLIENT.id)
    const tokens = seen.beta.map(bearerPayload)
    expect(new Set(tokens.map((token) => token.aud))).toEqual(new Set([AUDIENCE.beta]))
    expect(tokens.map((token) => token.sub)).toEqual(expect.arrayContaining(['alice', 'bob']))
    const forwarded = [...seen.alpha, ...seen.beta]
    for (const front of Object.values(frontTokens)) expect(forwarded).not.toContain(`Bearer ${front}`)
  })

  it('on behalf of, a 2025-only server: every upstream session carrying a user\'s calls is opened with that user\'s exchanged token and carries it alone, for 2025 and 2026 callers', async () => {
    const users = ['alice', 'bob', 'alice', 'bob'] as const
    const callers = await Promise.all(users.map((user, i) => userClient(user, i < 2 ? '2025-11-25' : '2026-07-28', false)))
    const answers = await Promise.all([...callers, callers[0], callers[2]].map((caller) => whoami(caller, 'epsilon_whoami')))
    expect(answers.map((answer) => answer.sub)).toEqual([...users, 'alice', 'alice'])
    const epsilons = [...sessions.values()].filter((session) => session.of === seen.epsilon)
    // Each user's calls rode two sessions (their 2025 client's own, and their principal's for 2026 callers), each opened with their token alone.
    for (const user of ['alice', 'bob']) {
      const theirs = epsilons.filter((session) => session.subs.has(user))
      expect(theirs).toHaveLength(2)
      for (const session of theirs) expect([...session.subs]).toEqual([user])
    }
    expect(new Set(seen.epsilon.map((header) => bearerPayload(header).aud))).toEqual(new Set([AUDIENCE.epsilon]))
    for (const front of Object.values(frontTokens)) expect(seen.epsilon).not.toContain(`Bearer ${front}`)
  })

  it('as itself: every request carries the gateway\'s own token (client credentials) for that upstream, whoever calls', async () => {
    const alice = await userClient('alice', '2026-07-28', false)
    const bob = await userClient('bob', '2025-11-25', false)
    const [a, b] = await Promise.all([whoami(alice, 'gamma_whoami'), whoami(bob, 'gamma_whoami')])
    expect([a.sub, b.sub]).toEqual([GATEWAY_CLIENT.id, GATEWAY_CLIENT.id])
    const tokens = seen.gamma.map(bearerPayload)
    expect(new Set(tokens.map((token) => `${token.sub} ${token.aud}`))).toEqual(new Set([`${GATEWAY_CLIENT.id} ${AUDIENCE.gamma}`]))
  })

  it('a caller that cannot open URLs gets an error naming the consent URL', async () => {
    frontTokens.carol = await frontToken('carol')
    const carol = await userClient('carol', '2026-07-28', false)
    const result = (await carol.callTool({ name: 'alpha_whoami', arguments: {} })) as { content: { text: string }[]; isError?: boolean }
    expect(result.isError).toBe(true)
    expect(result.content[0].text).toMatch(/needs your authorization at 127\.0\.0\.1:\d+\. Try this: open http:\/\/127\.0\.0\.1:\d+\/auth\?\S+ in a browser/)
  })

  it('refreshes a held token before it expires, keeping the rotated pair', async () => {
    // 30-second tokens: within the refresh margin from the start, so each call after the consent refreshes.
    as.setAccessTokenTTL(30)
    try {
      frontTokens.dave = await frontToken('dave')
      const callbacks: string[] = []
      const dave = await userClient('dave', '2026-07-28', true, callbacks)
      for (let call = 0; call < 3; call++) expect((await whoami(dave, 'alpha_whoami')).sub).toBe('dave')
      // One consent; each call then went with a token the refresh had just issued.
      expect(callbacks).toHaveLength(1)
      const daves = seen.alpha.filter((header) => bearerPayload(header).sub === 'dave')
      expect(new Set(daves).size).toBe(3)
    } finally {
      as.setAccessTokenTTL(600)
    }
  })

  it('keeps the tokens encrypted at rest, and across a restart', async () => {
    const file = await readFile(join(dir, 'upstream-tokens.json'), 'utf8')
    for (const header of seen.alpha) expect(file).not.toContain(header.replace(/^Bearer /, ''))
    for (const field of [`${as.issuer} alice`, `${as.issuer} bob`, 'accessToken', 'refreshToken']) expect(file).not.toContain(field)
    const sealed = Object.entries(JSON.parse(file) as Record<string, string>)
    expect(sealed.length).toBeGreaterThan(0)
    for (const [name, value] of sealed) {
      expect(unseal(storeKey('another-key-of-at-least-32-characters-long'), value, name)).toBeUndefined()
      expect(unseal(storeKey(STORE_KEY), value, name)).toContain('accessToken')
    }
    await killProcess(gateway.child)
    gateway = await startTheGateway()
    // No browser now: alice's call goes on with what the store held.
    const alice = await userClient('alice', '2025-11-25', false)
    expect((await whoami(alice, 'alpha_whoami')).sub).toBe('alice')
  })

  it('refuses a callback whose state it never issued, and one whose code does not match the PKCE verifier', async () => {
    const unknown = await fetch(new URL('/oauth/callback?state=forged&code=x', gateway.url))
    expect(unknown.status).toBe(400)
    expect(await unknown.text()).toMatch(/unknown or was already used\. Nothing was stored/)
    // carol's consent comes back with a code issued for another PKCE challenge: refused, and nothing stored for her.
    const dave = new Client({ name: 'dave', version: '1' }, { capabilities: { elicitation: { url: {} } } })
    clients.push(dave)
    let refusal = ''
    dave.setRequestHandler('elicitation/create', async (request) => {
      const url = new URL((request.params as { url: string }).url)
      url.searchParams.set('code_challenge', createHash('sha256').update('another-verifier-of-enough-length-for-pkce-43').digest('base64url'))
      const callback = await as.authorize(url, 'carol', url.searchParams.get('redirect_uri')!)
      const page = await fetch(callback)
      refusal = `${page.status} ${await page.text()}`
      return { action: 'accept' }
    })
    await dave.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: { authorization: `Bearer ${frontTokens.carol}` } } }))
    await expect(dave.callTool({ name: 'alpha_whoami', arguments: {} })).rejects.toThrow(/authorization code was refused/)
    expect(refusal).toMatch(/^400 Authorization refused: The authorization code was refused .* Nothing was stored\./)
    expect(await readFile(join(dir, 'upstream-tokens.json'), 'utf8')).not.toContain('carol')
  })
})

describe('discovery refuses malicious authorization-server metadata', () => {
  let evil: http.Server
  let origin: string
  let metadata: Record<string, unknown> = {}
  let redirect: string | undefined
  beforeAll(async () => {
    evil = http.createServer((req, res) => {
      if (req.url?.startsWith('/.well-known/oauth-protected-resource')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        return void res.end(JSON.stringify({ resource: `${origin}/mcp`, authorization_servers: [origin] }))
      }
      if (req.url?.startsWith('/.well-known/') && redirect) return void res.writeHead(302, { location: redirect }).end()
      if (req.url?.startsWith('/.well-known/')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        return void res.end(JSON.stringify({ issuer: origin, authorization_endpoint: `${origin}/auth`, token_endpoint: `${origin}/token`, response_types_supported: ['code'], ...metadata }))
      }
      res.writeHead(404).end()
    })
    servers.push(evil)
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`
  })

  const discover = () =>
    new UpstreamOAuth(`${origin}/mcp`, { mode: 'per-user', clientId: 'c' }, async () => ({}) as never, { redirectUri: () => 'http://127.0.0.1/cb', clientMetadataUrl: () => undefined }).discover()

  it.each([
    ['an issuer that is not the server asked', { issuer: 'https://attacker.example' }, undefined, /issuer|refused/i],
    ['an http: token endpoint off loopback', { token_endpoint: 'http://attacker.example/token' }, undefined, /token_endpoint http:\/\/attacker\.example is not https/],
    ['an http: authorization endpoint off loopback', { authorization_endpoint: 'http://attacker.example/auth' }, undefined, /authorization_endpoint http:\/\/attacker\.example is not https/],
    ['a redirect to another host', {}, 'https://attacker.example/.well-known/oauth-authorization-server', /redirected its OAuth metadata to https:\/\/attacker\.example/],
  ])('%s', async (_name, bad, to, message) => {
    metadata = bad
    redirect = to
    const error = await discover().then(
      () => undefined,
      (failure: Error) => failure,
    )
    expect(error).toBeInstanceOf(UpstreamAuthError)
    expect(error?.message).toMatch(message)
  })
})

describe('replicas share a Redis token store', () => {
  let redis: Redis
  let redisUrl: string

  beforeAll(async () => {
    redis = await startRedis()
    redisUrl = redis.url
  })

  afterAll(async () => {
    await redis?.stop()
  })

  it('a consent given through one replica serves the next call through the other; Redis holds nothing readable without the key', async () => {
    const first = await startTheGateway(redisUrl)
    const second = await startTheGateway(redisUrl)
    const bobOn = async (replica: HostileGateway, browser: boolean) => {
      gateway = replica
      return userClient('bob', '2026-07-28', browser)
    }
    expect((await whoami(await bobOn(first, true), 'alpha_whoami')).sub).toBe('bob')
    // No browser on the other replica: it finds bob's authorization in Redis.
    expect((await whoami(await bobOn(second, false), 'alpha_whoami')).sub).toBe('bob')

    const reader = createClient({ url: redisUrl })
    await reader.connect()
    const names = await reader.keys('airmcp:upstream-tokens:*')
    expect(names).toHaveLength(1)
    const value = (await reader.get(names[0]))!
    await reader.close()
    const tokens = seen.alpha.map((header) => header.replace(/^Bearer /, ''))
    for (const field of [`${as.issuer} bob`, 'accessToken', 'refreshToken', ...tokens]) expect(`${names[0]} ${value}`).not.toContain(field)
    expect(unseal(storeKey('another-key-of-at-least-32-characters-long'), value, names[0])).toBeUndefined()
    expect(unseal(storeKey(STORE_KEY), value, names[0])).toMatch(/"accessToken"/)
  })

  it('a revoked authorization (airmcp auth revoke) stays revoked: a replica that cached it asks for consent again rather than refreshing it back', async () => {
    as.setAccessTokenTTL(30)
    try {
      gateway = await startTheGateway(redisUrl)
      frontTokens.carol = await frontToken('carol')
      const callbacks: string[] = []
      const carol = await userClient('carol', '2026-07-28', true, callbacks)
      // 30-second tokens: each call refreshes the pair this replica holds in memory.
      for (let call = 0; call < 2; call++) expect((await whoami(carol, 'alpha_whoami')).sub).toBe('carol')
      expect(callbacks).toHaveLength(1)
      const revoked = await runCli(['auth', 'revoke', 'carol', '--store', redisUrl], { env: { AIRMCP_TOKEN_STORE_KEY: STORE_KEY } })
      expect(revoked.code, revoked.stderr).toBe(0)
      expect((await whoami(carol, 'alpha_whoami')).sub).toBe('carol')
      expect(callbacks).toHaveLength(2)
    } finally {
      as.setAccessTokenTTL(600)
    }
  })

  it("a closed store (the gateway's stop) leaves no connection open: an embedding process can end", async () => {
    const reader = createClient({ url: redisUrl })
    await reader.connect()
    const connections = async () => String(await reader.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length
    const before = await connections()
    const { RedisTokenStore } = await import('../../src/gateway/upstreams/auth/redis-store.js')
    const store = await RedisTokenStore.open(redisUrl, storeKey(STORE_KEY))
    expect(await connections()).toBe(before + 1)
    await store.close()
    await expect.poll(connections).toBe(before)
    await reader.close()
  })
})

describe('registrations with auth', () => {
  const register = (connection: Registration['connection']) => () => new Gateway({ name: 'check', handleSignals: false }).register({ id: 'x-1', name: 'x', connection })

  it('refuses an http: upstream off loopback, an unknown mode, auth beside an Authorization header, and as-itself without credentials', () => {
    expect(register({ type: 'http', url: 'http://mcp.example.com/mcp', auth: { mode: 'per-user' } })).toThrow(/upstream http:\/\/mcp\.example\.com is not https/)
    expect(register({ type: 'http', url: 'https://mcp.example.com/mcp', auth: { mode: 'everyone' as never } })).toThrow(/unknown auth mode "everyone"/)
    expect(register({ type: 'http', url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer x' }, auth: { mode: 'per-user' } })).toThrow(/both auth and an Authorization header/)
    expect(register({ type: 'http', url: 'https://mcp.example.com/mcp', auth: { mode: 'as-itself', clientId: 'c' } })).toThrow(/needs the gateway's client credentials/)
    expect(register({ type: 'http', url: 'https://mcp.example.com/mcp', auth: { mode: 'per-user', clientId: 'c' } })).not.toThrow()
  })
})
