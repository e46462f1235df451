// In a real browser: headless Chromium (Debian's) renders the app of a server made with
// `airmcp add server --preset app`, fetched through a real gateway process, in a sandboxed iframe of a small
// host page using ext-apps' AppBridge; the app calls its server's tool through the host and the gateway,
// and the result shows in the page. A screenshot is kept in test/apps/artifacts/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { chromium, type BrowserContext } from 'playwright-core'
import { auth, startGateway } from '../hostile/harness.js'
import { killAll, ROOT } from '../helpers/processes.js'
import { appRegistration, scaffoldAppServer } from './scaffold.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(ROOT, 'test/apps/artifacts')
const present = existsSync(CHROMIUM)
if (!present && !process.env.CI) console.warn(`[browser] skipped: no ${CHROMIUM} (apt-get install -y chromium); with CI=1 this fails`)

/** ext-apps' AppBridge for a browser: its ES module bundled with its dependencies (esbuild, which tsx brings). */
async function appBridgeBundle(): Promise<string> {
  const { build } = createRequire(import.meta.resolve('tsx'))('esbuild') as typeof import('esbuild')
  const entry = import.meta.resolve('@modelcontextprotocol/ext-apps/app-bridge')
  const result = await build({ entryPoints: [new URL(entry).pathname], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' })
  return result.outputFiles[0]!.text
}

/** The host's page and backend: its MCP client on the gateway answers /tool, /resource and /call. */
async function startHost(gatewayUrl: string): Promise<{ server: Server; url: string; client: Client }> {
  const client = new Client({ name: 'test-host', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(gatewayUrl), { requestInit: { headers: auth } }))
  const bridge = await appBridgeBundle()
  const page = readFileSync(join(ROOT, 'fixtures/apps/host.html'), 'utf8')
  const routes: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    '/tool': async () => (await client.listTools()).tools.find((t) => t.name === 'show_dashboard'),
    '/resource': (body) => client.readResource({ uri: String(body.uri) }),
    '/call': (body) => client.callTool(body as { name: string; arguments?: Record<string, unknown> }),
  }
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://host').pathname
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page)
    if (path === '/app-bridge.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(bridge)
    const route = routes[path]
    if (!route || req.method !== 'POST') return void res.writeHead(404).end()
    let body = ''
    for await (const chunk of req) body += chunk
    try {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await route(JSON.parse(body || '{}'))))
    } catch (error) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (error as Error).message }))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, client }
}

describe.skipIf(!present && !process.env.CI)('an MCP App in headless Chromium, through the gateway', () => {
  let host: Awaited<ReturnType<typeof startHost>>
  let browser: BrowserContext

  beforeAll(async () => {
    if (!present) throw new Error(`CI=1 and no ${CHROMIUM}: .ci/containers.sh installs it (apt-get install -y chromium).`)
    const dir = await scaffoldAppServer()
    const gateway = await startGateway({}, [appRegistration(dir)])
    host = await startHost(gateway.url)
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'airmcp-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await host?.client.close()
    host?.server.close()
    await killAll()
  })

  it("renders the scaffolded app in a sandboxed iframe; the app's tool call goes through the host and the gateway", async () => {
    const page = await browser.newPage()
    await page.goto(host.url)
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 30_000 }).toBe('app ui://show_dashboard/app.html initialized')
    expect(await page.locator('#app').getAttribute('sandbox')).toBe('allow-scripts')
    const app = page.frameLocator('#app')
    await app.locator('#stats').filter({ hasText: 'Ready' }).waitFor({ timeout: 30_000 })
    await app.locator('#refresh').click()
    await app.locator('#stats').filter({ hasText: /^refreshes: \d+, memory: \d+ MiB$/ }).waitFor({ timeout: 30_000 })
    const first = Number(/refreshes: (\d+)/.exec((await app.locator('#stats').textContent())!)![1])
    await app.locator('#refresh').click()
    await app.locator('#stats').filter({ hasText: `refreshes: ${first + 1},` }).waitFor({ timeout: 30_000 })
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'app-through-gateway.png') })
  })
})
