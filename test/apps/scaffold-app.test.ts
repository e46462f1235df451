// `airmcp add server dash --preset app`: the generated server builds, registers in the workspace's gateway,
// and its app reaches a client through a real gateway process in both eras, the same as a direct read, also
// with a tool prefix configured.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server'
import { auth, startGateway, type HostileGateway } from '../hostile/harness.js'
import { closeEraClients, connectEra } from '../helpers/era-clients.js'
import { killAll } from '../helpers/processes.js'
import { codeOf, send, TASKS_EXTENSION, type Result } from '../helpers/wire-2026.js'
import { appRegistration, scaffoldAppServer } from './scaffold.js'

const uiOf = (tool: { _meta?: Record<string, unknown> }) => tool._meta?.ui
let dir = ''
let gateway: HostileGateway
/** The same server with its tools prefixed `d_`. */
let prefixed: HostileGateway

beforeAll(async () => {
  dir = await scaffoldAppServer()
  ;[gateway, prefixed] = await Promise.all([startGateway({}, [appRegistration(dir)]), startGateway({}, [appRegistration(dir, { tools: { prefix: 'd_' } })])])
}, 120_000)

afterAll(async () => {
  await closeEraClients()
  await killAll()
})

describe('airmcp add server --preset app, add tool --ui', () => {
  it('writes the server, its page and its test, and registers it in the gateway', () => {
    const server = join(dir, 'servers/dash')
    expect(readFileSync(join(server, 'src/index.ts'), 'utf8')).toContain("ui: { file: new URL('../src/app.html', import.meta.url), appSdk: true")
    expect(readFileSync(join(server, 'src/app.html'), 'utf8')).toContain("app.callServerTool({ name: 'get_stats'")
    expect(readFileSync(join(server, 'test/dash.test.ts'), 'utf8')).toContain("client.callTool('get_stats'")
    // add tool --ui: the tool names its page, which shows the tool's result.
    expect(readFileSync(join(server, 'src/index.ts'), 'utf8')).toContain("ui: { file: new URL('../src/chart.html', import.meta.url), appSdk: true },")
    expect(readFileSync(join(server, 'src/chart.html'), 'utf8')).toContain('app.ontoolresult = ')
    expect(readFileSync(join(dir, 'gateway/src/index.ts'), 'utf8')).toMatch(/name: 'dash'/)
  })

  it.each(['2025-11-25', '2026-07-28'] as const)('serves its app through the gateway to a %s client, the same as directly', async (era) => {
    const direct = await connectEra(new StdioClientTransport({ command: process.execPath, args: ['dist/index.js'], cwd: join(dir, 'servers/dash'), stderr: 'ignore' }), '2025-11-25')
    const client = await connectEra(new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: auth } }), era)
    const tools = Object.fromEntries((await client.listTools()).tools.map((t) => [t.name, t]))
    expect(tools.show_dashboard!._meta).toEqual({ ui: { resourceUri: 'ui://show_dashboard/app.html' }, 'ui/resourceUri': 'ui://show_dashboard/app.html' })
    expect(tools.get_stats!._meta).toEqual({ ui: { visibility: ['app'] } })
    const read = await client.readResource({ uri: 'ui://show_dashboard/app.html' })
    expect(read.contents).toEqual((await direct.readResource({ uri: 'ui://show_dashboard/app.html' })).contents)
    const page = read.contents[0] as { mimeType: string; text: string; _meta: unknown }
    expect(page.mimeType).toBe(RESOURCE_MIME_TYPE)
    expect(page._meta).toEqual({ ui: { prefersBorder: true } })
    // The SDK comes first in the head, then the page's own script uses it.
    expect(page.text.indexOf('globalThis.McpApps={')).toBeLessThan(page.text.indexOf('const { App } = globalThis.McpApps'))
    expect(uiOf(tools.chart!)).toEqual({ resourceUri: 'ui://chart/app.html' })
    const chart = (await client.readResource({ uri: 'ui://chart/app.html' })).contents[0] as { text: string }
    expect(chart.text).toContain('<h1>chart</h1>')
    expect(await client.callTool({ name: 'chart', arguments: { days: 7 } })).toMatchObject({ structuredContent: { days: 7 } })
    const stats = await client.callTool({ name: 'get_stats', arguments: {} })
    expect(stats.structuredContent).toMatchObject({ refreshes: expect.any(Number), memoryMiB: expect.any(Number) })
  })

  it.each(['2025-11-25', '2026-07-28'] as const)('with a tool prefix, serves its app to a %s client under the pool, byte-identical to a direct read', async (era) => {
    const direct = await connectEra(new StdioClientTransport({ command: process.execPath, args: ['dist/index.js'], cwd: join(dir, 'servers/dash'), stderr: 'ignore' }), '2025-11-25')
    const client = await connectEra(new StreamableHTTPClientTransport(new URL(prefixed.url), { requestInit: { headers: auth } }), era)
    const tools = Object.fromEntries((await client.listTools()).tools.map((t) => [t.name, t]))
    const exposed = 'ui://airmcp~dash/show_dashboard/app.html'
    expect(tools.d_show_dashboard!._meta).toEqual({ ui: { resourceUri: exposed }, 'ui/resourceUri': exposed })
    expect(tools.d_get_stats!._meta).toEqual({ ui: { visibility: ['app'] } })
    const read = await client.readResource({ uri: exposed })
    expect(read.contents[0]!.uri).toBe(exposed)
    const original = (await direct.readResource({ uri: 'ui://show_dashboard/app.html' })).contents
    expect(read.contents.map((c) => ({ ...c, uri: 'ui://show_dashboard/app.html' }))).toEqual(original)
    expect((await client.callTool({ name: 'd_get_stats', arguments: {} })).structuredContent).toMatchObject({ refreshes: expect.any(Number) })
  })
})

describe('airmcp add tool --task', () => {
  it('writes a long-running tool that runs as a task through the gateway: polled to its result, or cancelled', async () => {
    expect(readFileSync(join(dir, 'servers/dash/src/index.ts'), 'utf8')).toContain("task: 'optional',")
    const client = { url: gateway.url, token: auth.authorization.slice('Bearer '.length), capabilities: { extensions: { [TASKS_EXTENSION]: {} } } }
    const created = await send(client, 'tools/call', { name: 'crunch', arguments: { size: 3 } })
    expect(created).toMatchObject({ resultType: 'task', status: 'working' })
    const taskId = created.taskId as string
    await expect.poll(async () => (await send(client, 'tasks/get', { taskId })).status, { timeout: 20_000, interval: 100 }).toBe('completed')
    const done = await send(client, 'tasks/get', { taskId })
    expect((done.result as Result).structuredContent).toEqual({ todo: 'implement crunch', size: 3 })
    expect(done.statusMessage).toBe('step 5 of 5')
    // A client that does not negotiate tasks gets the result in the call.
    expect(await send({ ...client, capabilities: {} }, 'tools/call', { name: 'crunch', arguments: {} })).toMatchObject({ structuredContent: { todo: 'implement crunch' } })
    const cancelled = (await send(client, 'tools/call', { name: 'crunch', arguments: {} })).taskId as string
    expect(await codeOf(send(client, 'tasks/cancel', { taskId: cancelled }))).toBe('answered')
    expect((await send(client, 'tasks/get', { taskId: cancelled })).status).toBe('cancelled')
  })
})
