// `airmcp auth list|revoke` through bin/run.js, against the gateway's real token stores: the encrypted file
// in a data directory and a real redis-server. Entries are written by the stores themselves, keyed as the
// gateway keys them (principal and upstream).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Principal } from '../../src/http/principal.js'
import { principalKey } from '../../src/gateway/upstreams/auth/oauth-client.js'
import { RedisTokenStore } from '../../src/gateway/upstreams/auth/redis-store.js'
import { FileTokenStore, type StoredTokens, storeKey, type TokenStore } from '../../src/gateway/upstreams/auth/token-store.js'
import { runCli } from '../helpers/cli.js'
import { type Redis, startRedis } from '../helpers/redis.js'

const KEY = 'a-test-token-store-key-of-at-least-32-characters'
const ISSUER = 'https://login.example.com'
const ALPHA = 'https://alpha.example.com/mcp'
const BETA = 'https://beta.example.com/mcp'
const NO_STACK = /\n\s+at |Node\.js v/

const principal = (sub: string) => ({ name: sub, sub, claims: { iss: ISSUER, sub } }) as unknown as Principal
const keyOf = (sub: string, upstream: string) => `${principalKey(principal(sub))}\u0000${upstream}`
const inAnHour = Date.now() + 3_600_000

/** alice at two upstreams (one expired, without a refresh token), bob at one. */
const HELD: [string, string, StoredTokens][] = [
  ['alice', ALPHA, { accessToken: 'alice-alpha-access-secret', refreshToken: 'alice-alpha-refresh-secret', expiresAt: inAnHour, scope: 'mcp:tools offline_access' }],
  ['alice', BETA, { accessToken: 'alice-beta-access-secret', expiresAt: Date.now() - 60_000, scope: 'mcp:tools' }],
  ['bob', ALPHA, { accessToken: 'bob-alpha-access-secret', refreshToken: 'bob-alpha-refresh-secret' }],
]

async function fill(store: TokenStore): Promise<void> {
  for (const [sub, upstream, tokens] of HELD) await store.set(keyOf(sub, upstream), tokens)
}

/** What a store holds, as (principal, upstream) pairs. */
async function held(store: TokenStore): Promise<string[]> {
  return (await store.list()).map(([key]) => key.replace(`${ISSUER} `, '').replace('\u0000', ' ')).sort()
}

const json = <T>(stdout: string) => JSON.parse(stdout) as T
type Listed = { store: string; held: { principal: string; issuer: string; upstream: string; scopes: string[]; expiresAt: string | null; expired: boolean; refreshToken: boolean }[] }

let dir: string
let redis: Redis
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airmcp-auth-cli-'))
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('airmcp auth list|revoke on the file store (the data directory)', () => {
  const env = () => ({ AIRMCP_DATA_DIR: join(dir, 'data'), AIRMCP_TOKEN_STORE_KEY: KEY })
  const file = () => join(dir, 'data', 'upstream-tokens.json')

  beforeAll(async () => fill(await FileTokenStore.open(file(), storeKey(KEY))))

  it('lists each principal and upstream with scopes, expiry and whether a refresh token is held, never a token', async () => {
    const listed = await runCli(['auth', 'list', '--json'], { env: env() })
    expect(listed.code, listed.stderr).toBe(0)
    const { store, held: rows } = json<Listed>(listed.stdout)
    expect(store).toBe(file())
    expect(rows).toEqual([
      { principal: 'alice', issuer: ISSUER, upstream: ALPHA, scopes: ['mcp:tools', 'offline_access'], expiresAt: new Date(HELD[0][2].expiresAt!).toISOString(), expired: false, refreshToken: true },
      { principal: 'alice', issuer: ISSUER, upstream: BETA, scopes: ['mcp:tools'], expiresAt: new Date(HELD[1][2].expiresAt!).toISOString(), expired: true, refreshToken: false },
      { principal: 'bob', issuer: ISSUER, upstream: ALPHA, scopes: [], expiresAt: null, expired: false, refreshToken: true },
    ])
    const table = await runCli(['auth', 'list'], { env: env() })
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout.split('\n')[0]).toMatch(/^PRINCIPAL\s+UPSTREAM\s+SCOPES\s+EXPIRES\s+REFRESH\s+ISSUER$/)
    expect(table.stdout).toMatch(/alice\s+https:\/\/beta\.example\.com\/mcp\s+mcp:tools\s+\S+ \(expired\)\s+no/)
    const bobs = await runCli(['auth', 'list', 'bob', '--json'], { env: env() })
    expect(json<Listed>(bobs.stdout).held.map((row) => row.principal)).toEqual(['bob'])
    for (const output of [listed, table, bobs]) expect(`${output.stdout}${output.stderr}`).not.toMatch(/secret/)
  })

  it("revokes one principal's tokens at one upstream, then all of them; --dry-run changes nothing", async () => {
    const before = await readFile(file(), 'utf8')
    const dry = await runCli(['auth', 'revoke', 'alice', '--upstream', BETA, '--dry-run', '--json'], { env: env() })
    expect(dry.code, dry.stderr).toBe(0)
    expect(json<{ removed: { upstream: string }[]; dryRun: boolean }>(dry.stdout)).toMatchObject({ removed: [{ upstream: BETA }], dryRun: true })
    expect(await readFile(file(), 'utf8')).toBe(before)

    const one = await runCli(['auth', 'revoke', 'alice', '--upstream', BETA], { env: env() })
    expect(one.code, one.stderr).toBe(0)
    expect(one.stderr).toMatch(/Removed 1 authorization\(s\) of "alice"/)
    expect(one.stderr).toMatch(/revoke while it is stopped/)
    expect(await held(await FileTokenStore.open(file(), storeKey(KEY)))).toEqual([`alice ${ALPHA}`, `bob ${ALPHA}`])

    const all = await runCli(['auth', 'revoke', 'alice', '--json'], { env: env() })
    expect(all.code, all.stderr).toBe(0)
    expect(json<{ removed: unknown[] }>(all.stdout).removed).toHaveLength(1)
    expect(await held(await FileTokenStore.open(file(), storeKey(KEY)))).toEqual([`bob ${ALPHA}`])
  })

  it('bad input: an unknown principal, a missing or wrong key, no store there; each a clear error that changes nothing', async () => {
    const before = await readFile(file(), 'utf8')
    const cases: [string[], NodeJS.ProcessEnv, string, RegExp][] = [
      [['auth', 'revoke', 'carol'], env(), 'NOT_HELD', /holds nothing for "carol"; nothing was removed/],
      [['auth', 'revoke', 'bob', '--upstream', BETA], env(), 'NOT_HELD', /holds nothing for "bob" at https:\/\/beta\.example\.com\/mcp/],
      [['auth', 'list'], { ...env(), AIRMCP_TOKEN_STORE_KEY: '' }, 'STORE_KEY', /need a key of at least 32 characters/],
      [['auth', 'revoke', 'bob'], { ...env(), AIRMCP_TOKEN_STORE_KEY: 'another-key-of-at-least-32-characters-long' }, 'STORE_KEY', /1 stored upstream token\(s\) in .* cannot be read with this key/],
      [['auth', 'list'], { ...env(), AIRMCP_DATA_DIR: join(dir, 'elsewhere') }, 'NO_STORE', /No upstream token store at .*elsewhere/],
    ]
    for (const [args, environment, code, message] of cases) {
      const result = await runCli([...args, '--json'], { env: environment })
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(1)
      expect(json<{ error: { code: string; message: string; suggestion: string } }>(result.stdout).error).toMatchObject({ code, message: expect.stringMatching(message), suggestion: expect.any(String) })
      const human = await runCli(args, { env: environment })
      expect(human.stderr).toMatch(/Try this:/)
      expect(human.stderr).not.toMatch(NO_STACK)
    }
    expect(await readFile(file(), 'utf8')).toBe(before)
  })
})

describe('airmcp auth list|revoke on Redis (--store redis://…, as replicas share it)', () => {
  const env = { AIRMCP_TOKEN_STORE_KEY: KEY }
  let store: RedisTokenStore

  beforeAll(async () => {
    store = await RedisTokenStore.open(redis.url, storeKey(KEY))
    await fill(store)
  })
  afterAll(async () => store?.close())

  it("lists every replica's entries and revokes a principal's, never printing a token", async () => {
    const listed = await runCli(['auth', 'list', '--store', redis.url, '--json'], { env })
    expect(listed.code, listed.stderr).toBe(0)
    expect(json<Listed>(listed.stdout).held.map((row) => `${row.principal} ${row.upstream} ${row.refreshToken}`)).toEqual([`alice ${ALPHA} true`, `alice ${BETA} false`, `bob ${ALPHA} true`])
    expect(listed.stdout).not.toMatch(/secret/)

    const revoked = await runCli(['auth', 'revoke', 'alice', '--store', redis.url], { env })
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stderr).toMatch(/Removed 2 authorization\(s\) of "alice" from redis:\/\/127\.0\.0\.1:\d+/)
    expect(await held(store)).toEqual([`bob ${ALPHA}`])
  })

  it('an unreachable Redis and a wrong key are clear errors, at once', async () => {
    const down = await runCli(['auth', 'list', '--store', 'redis://user:hunter2-password@127.0.0.1:1', '--json'], { env })
    expect(down.code).toBe(1)
    expect(json<{ error: { code: string; message: string } }>(down.stdout).error).toMatchObject({ code: 'STORE_UNREACHABLE', message: expect.stringMatching(/redis:\/\/user:\*\*\*@127\.0\.0\.1:1/) })
    expect(down.stdout).not.toMatch(/hunter2/)
    const wrongKey = await runCli(['auth', 'revoke', 'bob', '--store', redis.url, '--json'], { env: { AIRMCP_TOKEN_STORE_KEY: 'another-key-of-at-least-32-characters-long' } })
    expect(json<{ error: { code: string } }>(wrongKey.stdout).error.code).toBe('STORE_KEY')
    expect(await held(store)).toEqual([`bob ${ALPHA}`])
  })
})
