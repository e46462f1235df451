// `airmcp bridge` as an OAuth 2.1 client (issue 24): against a real authorization server (oidc-provider) and
// a real gateway with `auth` on, the bridge logs in through a scripted browser (the test follows the URL the
// bridge opens and completes login and consent over HTTP), then a stdio SDK client calls tools through it
// across an access-token expiry and a gateway restart; `--logout` leaves no token on disk; a forged redirect
// (state mismatch) and authorization-server metadata naming another issuer are refused, nothing stored.
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AuthorizationServer, SCOPES, startAuthorizationServer } from '../../fixtures/auth/authorization-server.js'
import { AUDIENCE } from '../auth/setup.js'
import { type HostileGateway, startGateway } from '../hostile/harness.js'
import { freePort, killAll, killProcess, ROOT, type Started, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const run = promisify(execFile)
/** Short enough that the test sees the access token expire and the bridge refresh it. */
const ACCESS_TOKEN_TTL = 4

let as: AuthorizationServer
let team: Started
let gateway: HostileGateway
let gatewayPort: number
let mcpUrl: string
const temp = mkdtempSync(join(tmpdir(), 'airmcp-bridge-oauth-'))
const clients: Client[] = []

const gatewayOptions = () => ({ port: gatewayPort, auth: { issuer: as.issuer, audience: AUDIENCE, scopesSupported: SCOPES } })
const registrations = () => [{ id: 'team-1', name: 'team', connection: { type: 'http' as const, url: team.url } }]

beforeAll(async () => {
  as = await startAuthorizationServer((resource) => (/^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(resource) ? AUDIENCE : undefined), {
    accessTokenTTL: ACCESS_TOKEN_TTL,
    registration: true,
  })
  team = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/team.ts'], { env: { TEAM: 'a', TRANSPORT: 'http', AIRMCP_PORT: '0' } })
  gatewayPort = await freePort()
  gateway = await startGateway(gatewayOptions(), registrations())
  mcpUrl = new URL('/mcp', gateway.url).href
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.close()))
  await killAll()
  await as?.close()
  rmSync(temp, { recursive: true, force: true })
})

/** A user's config directory and the "browser" the bridge opens: a script that records each URL it is given. */
function desktop(name: string) {
  const home = join(temp, name)
  mkdirSync(home)
  const opened = join(home, 'opened')
  const browser = join(temp, `${name}-browser.sh`)
  writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${opened}'\n`)
  chmodSync(browser, 0o755)
  const env = { ...(process.env as Record<string, string>), AIRMCP_CONFIG_DIR: home, BROWSER: browser }
  const openedUrls = () => (existsSync(opened) ? readFileSync(opened, 'utf8').trim().split('\n') : [])
  const tokenFiles = () => (existsSync(join(home, 'bridge')) ? readdirSync(join(home, 'bridge')).map((file) => join(home, 'bridge', file)) : [])
  return {
    home,
    env,
    tokenFiles,
    /** Starts `airmcp bridge <url>` with an SDK client on its stdio; `connected` settles once initialize is answered. */
    bridge(url: string) {
      const transport = new StdioClientTransport({ command: process.execPath, args: [`${ROOT}bin/run.js`, 'bridge', url], env, stderr: 'pipe' })
      let stderr = ''
      transport.stderr!.on('data', (chunk) => (stderr += String(chunk)))
      const client = new Client({ name: 'desktop', version: '0' })
      clients.push(client)
      return { client, connected: client.connect(transport), stderr: () => stderr }
    },
    /** The authorization URL the bridge opened the browser at (the `count`-th). */
    async loginUrl(count = 1): Promise<URL> {
      await expect.poll(openedUrls, { timeout: 30_000 }).toHaveLength(count)
      return new URL(openedUrls()[count - 1])
    },
  }
}

/** The user logs in and consents at the authorization server; the browser then lands on the bridge's loopback. */
async function logIn(url: URL, user: string): Promise<void> {
  const redirect = await as.authorize(url, user)
  expect(redirect.href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/)
  const landing = await fetch(redirect)
  expect(landing.status).toBe(200)
}

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0].text
const held = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { tokens: { access_token: string; refresh_token?: string }; expiresAt: number; client?: { issuer?: string } }

describe('airmcp bridge logs in to a protected gateway', () => {
  const user = desktop('alice')

  it('logs in through the browser, keeps the tokens 0600, refreshes them, survives a gateway restart; --logout forgets them', async () => {
    const bridge = user.bridge(mcpUrl)
    const authorizationUrl = await user.loginUrl()
    // The SDK's flow: PKCE S256, the resource indicator, scopes, a state, the loopback redirect.
    expect(authorizationUrl.origin).toBe(as.issuer)
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorizationUrl.searchParams.get('resource')).toBe(mcpUrl)
    expect(authorizationUrl.searchParams.get('state')).toBeTruthy()
    expect(authorizationUrl.searchParams.get('scope')).toContain('offline_access')
    expect(authorizationUrl.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/)
    await logIn(authorizationUrl, 'alice')
    await bridge.connected
    expect(textOf(await bridge.client.callTool({ name: 'whoami', arguments: {} }))).toBe('a')
    // The URL went to stderr too (stdout is the MCP channel, which the SDK client would have refused otherwise).
    expect(bridge.stderr()).toContain(authorizationUrl.href)

    const [file] = user.tokenFiles()
    expect(user.tokenFiles()).toHaveLength(1)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const first = held(file)
    expect(first.tokens.refresh_token).toBeTruthy()
    expect(first.client?.issuer).toBe(as.issuer)

    // The access token runs out; the next call goes out with a refreshed one, no new login.
    await expect.poll(() => Date.now() > first.expiresAt, { timeout: ACCESS_TOKEN_TTL * 3000, interval: 200 }).toBe(true)
    expect(textOf(await bridge.client.callTool({ name: 'search', arguments: { query: 'after expiry' } }))).toBe('search:after expiry')
    const refreshed = held(file)
    expect(refreshed.tokens.access_token).not.toBe(first.tokens.access_token)
    expect(refreshed.expiresAt).toBeGreaterThan(first.expiresAt)

    // The gateway restarts (same port): the bridge continues in a new session with the tokens it holds.
    await killProcess(gateway.child)
    gateway = await startGateway(gatewayOptions(), registrations())
    expect(textOf(await bridge.client.callTool({ name: 'search', arguments: { query: 'after restart' } }))).toBe('search:after restart')
    expect(bridge.stderr()).toContain('continued in a new one')
    await bridge.client.close()

    // A new bridge process uses the stored tokens: no browser.
    const again = user.bridge(mcpUrl)
    await again.connected
    expect(textOf(await again.client.callTool({ name: 'whoami', arguments: {} }))).toBe('a')
    await again.client.close()
    expect(readFileSync(join(user.home, 'opened'), 'utf8').trim().split('\n')).toHaveLength(1)

    // --logout forgets them: no token left on disk.
    const tokens = [held(file).tokens.access_token, held(file).tokens.refresh_token!]
    const { stdout } = await run(process.execPath, [`${ROOT}bin/run.js`, 'bridge', mcpUrl, '--logout', '--json'], { env: user.env })
    expect(JSON.parse(stdout)).toEqual({ forgotten: [mcpUrl] })
    expect(user.tokenFiles()).toEqual([])
    for (const entry of readdirSync(user.home, { recursive: true, encoding: 'utf8' })) {
      const path = join(user.home, entry)
      if (statSync(path).isFile()) for (const token of tokens) expect(readFileSync(path, 'utf8')).not.toContain(token)
    }
  }, 120_000)
})

describe('airmcp bridge refuses bad logins and stores nothing', () => {
  it('a redirect whose state is not the request’s (forged or stale) is refused', async () => {
    const user = desktop('forged')
    const bridge = user.bridge(mcpUrl)
    const authorizationUrl = await user.loginUrl()
    const callback = new URL(authorizationUrl.searchParams.get('redirect_uri')!)
    callback.search = new URLSearchParams({ code: 'stolen-code', state: 'not-the-state', iss: as.issuer }).toString()
    const landing = await fetch(callback)
    expect(landing.status).toBe(400)
    expect(await landing.text()).toMatch(/state mismatch/)
    await expect(bridge.connected).rejects.toThrow(/did not carry the state of the request/)
    expect(bridge.stderr()).toMatch(/login failed: .*state.*Nothing was stored/)
    expect(user.tokenFiles()).toEqual([])
  }, 60_000)

  it('authorization-server metadata that names another issuer is refused before any login', async () => {
    const evil = await startMetadataImpostor()
    try {
      const user = desktop('impostor')
      const bridge = user.bridge(evil.mcpUrl)
      await expect(bridge.connected).rejects.toThrow(/issuer/i)
      expect(bridge.stderr()).toMatch(/login failed: .*issuer.*Nothing was stored/i)
      expect(existsSync(join(user.home, 'opened'))).toBe(false)
      expect(user.tokenFiles()).toEqual([])
    } finally {
      evil.server.closeAllConnections()
      evil.server.close()
    }
  }, 60_000)
})

/** A protected MCP endpoint whose authorization server's metadata claims to be another issuer (RFC 8414 §3.3). */
async function startMetadataImpostor(): Promise<{ server: Server; mcpUrl: string }> {
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (req.url?.startsWith('/.well-known/oauth-protected-resource')) return json({ resource: `${origin}/mcp`, authorization_servers: [origin] })
    if (req.url?.startsWith('/.well-known/oauth-authorization-server') || req.url?.startsWith('/.well-known/openid-configuration')) {
      return json({
        issuer: 'https://issuer.example',
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      })
    }
    res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"` }).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, mcpUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` }
}
