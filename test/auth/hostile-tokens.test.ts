// Hostile access tokens against the gateway's resource server: each refused with the right status and
// challenge, the gateway alive afterwards and no token in its logs; the JWKS endpoint shielded from floods.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair, SignJWT } from 'jose'
import { startGateway } from '../hostile/harness.js'
import { killAll, killProcess } from '../helpers/processes.js'
import { MACHINE_CLIENT } from '../../fixtures/auth/authorization-server.js'
import { AUDIENCE, type AuthWorld, OTHER_RESOURCE, POLICIES, startAuthWorld } from './setup.js'

let world: AuthWorld
const presented: string[] = []
const now = () => Math.floor(Date.now() / 1000)
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'hostile-tokens', version: '1' } },
})

/** Sends an initialize with `token` (in the header, or in the URL) and returns the status and challenge. */
async function present(token: string, options: { base?: string; inQuery?: boolean } = {}) {
  presented.push(token)
  const url = new URL('/mcp', options.base ?? world.gateway.url)
  if (options.inQuery) url.searchParams.set('access_token', token)
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(options.inQuery ? {} : { authorization: `Bearer ${token}` }),
    },
    body: INITIALIZE,
  })
  const json = response.headers.get('content-type') === 'application/json' && response.status >= 400
  const message = json ? ((await response.json()) as { error: { message: string } }).error.message : (await response.body?.cancel(), '')
  return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '', message }
}

const metadataUrl = (base: string) => new URL('/.well-known/oauth-protected-resource/mcp', base).href
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

function expectInvalidToken(answer: { status: number; challenge: string; message: string }, reason: RegExp, base = world.gateway.url) {
  expect(answer.status).toBe(401)
  expect(answer.message).toMatch(reason)
  expect(answer.challenge).toMatch(new RegExp(`^Bearer resource_metadata="${metadataUrl(base)}"`))
  expect(answer.challenge).toContain('error="invalid_token"')
}

beforeAll(async () => {
  world = await startAuthWorld()
  // A valid call first: the gateway has fetched and cached the keys before the attacks start.
  expect((await present(await world.machineToken())).status).toBe(200)
})

afterAll(async () => {
  // Nothing the gateway logged holds any token it was shown.
  const logs = world.gateway.stderr() + world.gateway.stdout()
  for (const token of presented) expect(logs.includes(token.slice(-40))).toBe(false)
  await world?.close()
  await killAll()
})

describe('hostile tokens', () => {
  it.each([
    ['expired', /expired/, () => world.forge({ exp: now() - 3600, iat: now() - 7200 })],
    ['not yet valid', /nbf claim/, () => world.forge({ nbf: now() + 3600 })],
    ['from another issuer', /iss claim/, () => world.forge({ iss: 'https://evil.example' })],
    ['without exp', /exp claim/, () => new SignJWT({ iss: world.as.issuer, aud: AUDIENCE, sub: 'mallory' }).setProtectedHeader({ alg: 'RS256', kid: world.as.signingKey.kid }).sign(createPrivateKey({ key: world.as.signingKey as never, format: 'jwk' }))],
  ])('refuses a token %s', async (_name, reason, mint) => {
    expectInvalidToken(await present(await mint()), reason)
    expect(world.gateway.alive()).toBe(true)
  })

  it("refuses a real token the authorization server minted for another resource (aud)", async () => {
    expectInvalidToken(await present(await world.machineToken(OTHER_RESOURCE)), /aud claim/)
  })

  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: world.as.issuer, aud: AUDIENCE, sub: 'mallory', exp: now() + 600 })}.`
    expectInvalidToken(await present(token), /algorithm|malformed/)
  })

  it("refuses HS256 signed with the server's public key", async () => {
    const publicPem = createPublicKey({ key: world.as.signingKey as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
    const token = await new SignJWT({ iss: world.as.issuer, aud: AUDIENCE, sub: 'mallory', scope: 'mcp:tools' })
      .setProtectedHeader({ alg: 'HS256', kid: world.as.signingKey.kid })
      .setExpirationTime('5m')
      .sign(Buffer.from(publicPem))
    expectInvalidToken(await present(token), /algorithm is not accepted/)
  })

  it('refuses a token signed with a key the issuer does not publish (unknown kid)', async () => {
    const { privateKey } = await generateKeyPair('RS256')
    const token = await new SignJWT({ iss: world.as.issuer, aud: AUDIENCE, sub: 'mallory', scope: 'mcp:tools' })
      .setProtectedHeader({ alg: 'RS256', kid: 'rotated-in-by-mallory' })
      .setExpirationTime('5m')
      .sign(privateKey)
    expectInvalidToken(await present(token), /key the issuer does not publish/)
  })

  it('refuses a real token with one signature byte flipped', async () => {
    const token = await world.machineToken()
    const [header, payload, signature] = token.split('.')
    const bytes = Buffer.from(signature, 'base64url')
    bytes[10] ^= 0x01
    expectInvalidToken(await present(`${header}.${payload}.${bytes.toString('base64url')}`), /signature does not verify/)
  })

  it('refuses a valid token in the query string (400 invalid_request, RFC 6750)', async () => {
    const answer = await present(await world.machineToken(), { inQuery: true })
    expect(answer.status).toBe(400)
    expect(answer.challenge).toContain('error="invalid_request"')
  })

  it('answers another scheme (Basic) as no token: 401 with the challenge and no error', async () => {
    const response = await fetch(new URL('/mcp', world.gateway.url), { method: 'POST', headers: { authorization: 'Basic bWFsbG9yeTp4', 'content-type': 'application/json' }, body: INITIALIZE })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="[^"]+", scope="[^"]+"$/)
  })

  it('refuses oversized tokens: 9 KiB with a challenge, 64 KiB at the HTTP layer', async () => {
    expectInvalidToken(await present(`${'a'.repeat(9 * 1024)}.b.c`), /over 8192 bytes/)
    expect([401, 431]).toContain((await present(`${'a'.repeat(64 * 1024)}.b.c`)).status)
    expect(world.gateway.alive()).toBe(true)
    expect((await present(await world.machineToken())).status).toBe(200)
  })

  it('answers a valid token that no client policy matches with 403 insufficient_scope', async () => {
    const answer = await present(await world.forge({ scope: 'mcp:support', groups: ['marketing'] }))
    expect(answer.status).toBe(403)
    expect(answer.challenge).toContain('error="insufficient_scope"')
  })

  it('keeps 1,000 random bad tokens from costing more than a handful of JWKS fetches', async () => {
    const before = world.as.jwksFetches()
    const { privateKey } = await generateKeyPair('ES256')
    const bad = async (i: number) =>
      i % 2
        ? randomBytes(60).toString('base64url')
        : new SignJWT({ iss: world.as.issuer, aud: AUDIENCE, sub: `bot-${i}` })
            .setProtectedHeader({ alg: 'ES256', kid: randomBytes(8).toString('hex') })
            .setExpirationTime('5m')
            .sign(privateKey)
    for (let batch = 0; batch < 1000; batch += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, async (_, i) => present(await bad(batch + i))))
      for (const answer of answers) expect(answer.status).toBe(401)
    }
    expect(world.as.jwksFetches() - before).toBeLessThanOrEqual(2)
    expect(world.gateway.alive()).toBe(true)
  })
})

describe('opaque tokens (RFC 7662 introspection)', () => {
  it('refuses them without introspection, checks them with it', async () => {
    world.as.setOpaqueTokens(true)
    const introspection = { endpoint: `${world.as.issuer}/token/introspection`, clientId: MACHINE_CLIENT.id, clientSecret: MACHINE_CLIENT.secret }
    const gateway = await startGateway({ auth: { issuer: world.as.issuer, audience: AUDIENCE, introspection }, clients: POLICIES }, [])
    try {
      const opaque = await world.machineToken()
      expect(opaque.split('.')).toHaveLength(1)
      expectInvalidToken(await present(opaque), /only JWT/)
      expect((await present(await world.machineToken(new URL('/mcp', gateway.url).href), { base: gateway.url })).status).toBe(200)
      expectInvalidToken(await present(`${opaque}x`, { base: gateway.url }), /not active/, gateway.url)
      expectInvalidToken(await present(await world.machineToken(OTHER_RESOURCE), { base: gateway.url }), /another resource/, gateway.url)
    } finally {
      world.as.setOpaqueTokens(false)
      await killProcess(gateway.child)
    }
  })
})

describe('a misconfigured issuer', () => {
  it('is reported at start (metadata naming another issuer is refused) and answers 503, not a crash', async () => {
    const gateway = await startGateway({ auth: { issuer: `${world.as.issuer}/`, audience: AUDIENCE }, clients: POLICIES }, [])
    try {
      await expect.poll(() => gateway.stderr()).toMatch(/Access tokens cannot be checked: .*names issuer "http:\/\/127\.0\.0\.1:\d+", not http:\/\/127\.0\.0\.1:\d+\//)
      expect((await present(await world.machineToken(new URL('/mcp', gateway.url).href), { base: gateway.url })).status).toBe(503)
      expect(gateway.alive()).toBe(true)
    } finally {
      await killProcess(gateway.child)
    }
  })
})

describe('the JWKS endpoint down', () => {
  it('answers 503 while keys cannot be fetched and recovers when they can', async () => {
    world.as.setJwksDown(true)
    // A fresh gateway has no cached keys; required scopes are checked once the token verifies.
    const gateway = await startGateway(
      { auth: { issuer: world.as.issuer, audience: AUDIENCE, requiredScopes: ['mcp:tools'] }, clients: POLICIES },
      [],
    )
    try {
      const token = await world.machineToken(new URL('/mcp', gateway.url).href)
      const down = await fetch(new URL('/mcp', gateway.url), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: INITIALIZE })
      expect(down.status).toBe(503)
      expect(down.headers.get('retry-after')).toBe('1')
      world.as.setJwksDown(false)
      await expect.poll(async () => (await present(token, { base: gateway.url })).status).toBe(200)
      const lacking = await present(await world.machineToken(new URL('/mcp', gateway.url).href, 'mcp:support'), { base: gateway.url })
      expect(lacking.status).toBe(403)
      expect(lacking.challenge).toBe(`Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="${metadataUrl(gateway.url)}"`)
      expect(gateway.stderr() + gateway.stdout()).not.toContain(token.slice(-40))
      // The operator is told once per outage, with the JWKS URL, not once per refused request.
      expect(gateway.stderr().match(/Access tokens cannot be checked: http:\/\/127\.0\.0\.1:\d+\/jwks/g)).toHaveLength(1)
    } finally {
      world.as.setJwksDown(false)
      await killProcess(gateway.child)
    }
  })
})
