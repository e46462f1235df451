// MCP Apps through a real gateway process: the official example app servers and two servers whose apps
// share one ui:// URI (one not listing it), read by SDK clients of both eras, with and without a tool prefix.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Client, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { EXTENSION_ID, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server'
import type { Registration } from 'airmcp/gateway'
import { auth, startGateway, type HostileGateway } from '../hostile/harness.js'
import { closeEraClients, connectEra, type Era } from '../helpers/era-clients.js'
import { killAll, ROOT, TSX_NODE_ARGS } from '../helpers/processes.js'

const example = (name: string) => path.join(ROOT, 'node_modules/@modelcontextprotocol', name, 'dist/index.js')
const EXAMPLES = { basic: example('server-basic-vanillajs'), monitor: example('server-system-monitor') }
const CLASH = 'fixtures/servers/app-clash.ts'
const UI_CAPABILITY = { [EXTENSION_ID]: { mimeTypes: [RESOURCE_MIME_TYPE] } }

type Tool = Awaited<ReturnType<Client['listTools']>>['tools'][number]
const connect = (transport: Transport, era: Era) => connectEra(transport, era, { extensions: UI_CAPABILITY })

const atGateway = (gateway: HostileGateway, era: Era) =>
  connect(new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: auth } }), era)

function registrations(prefixed: boolean): Registration[] {
  const naming = (prefix: string) => (prefixed ? { tools: { prefix } } : {})
  return [
    { id: 'basic-1', name: 'basic', connection: { type: 'stdio', command: 'node', args: [EXAMPLES.basic, '--stdio'] }, ...naming('b_') },
    // A 2025 upstream and a 2026 one on each side of the clash.
    { id: 'monitor-1', name: 'monitor', protocol: '2025-11-25', connection: { type: 'stdio', command: 'node', args: [EXAMPLES.monitor, '--stdio'] }, ...naming('m_') },
    { id: 'a-1', name: 'a', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, CLASH], env: { APP: 'a' } } },
    { id: 'b-1', name: 'b', protocol: '2025-11-25', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, CLASH], env: { APP: 'b', LIST: '0' } } },
  ]
}

const uiOf = (tool: Tool) => (tool._meta?.ui ?? {}) as { resourceUri?: string; visibility?: string[] }
const textOfRead = (result: { contents: unknown[] }) => (result.contents[0] as { text: string }).text

/** Each example server's tools and app resources as a direct client sees them. */
const direct = new Map<string, { tools: Tool[]; reads: Map<string, Awaited<ReturnType<Client['readResource']>>> }>()
let plain: HostileGateway
let prefixed: HostileGateway

beforeAll(async () => {
  // A viewer may open the system monitor's app but not call the tool the app polls with.
  const viewer = { name: 'viewer', token: 'viewer-token', tools: { deny: ['poll-system-stats'] } }
  ;[plain, prefixed] = await Promise.all([startGateway({ clients: [viewer] }, registrations(false)), startGateway({}, registrations(true))])
  for (const [name, file] of Object.entries(EXAMPLES)) {
    const client = await connect(new StdioClientTransport({ command: 'node', args: [file, '--stdio'], stderr: 'ignore' }), '2025-11-25')
    const { tools } = await client.listTools()
    const reads = new Map()
    for (const uri of new Set(tools.map((t) => uiOf(t).resourceUri).filter(Boolean) as string[])) reads.set(uri, await client.readResource({ uri }))
    direct.set(name, { tools, reads })
  }
  // A gateway listens once its upstreams are connected.
  for (const gateway of [plain, prefixed]) expect((await gateway.health()).servers.map((s) => `${s.id} ${s.status} ${s.lastError ?? ''}`)).toEqual(['basic-1', 'monitor-1', 'a-1', 'b-1'].map((id) => `${id} connected `))
}, 120_000)

afterAll(async () => {
  await closeEraClients()
  await killAll()
})

describe.each(['2025-11-25', '2026-07-28'] as const)('MCP Apps through the gateway, %s client', (era) => {
  it('passes the example apps through: _meta as the server sent it, the same HTML, the app-only tool callable', async () => {
    const client = await atGateway(plain, era)
    expect(client.getServerCapabilities()?.extensions?.[EXTENSION_ID]).toBeDefined()
    const tools = (await client.listTools()).tools
    for (const { tools: serverTools, reads } of direct.values()) {
      for (const tool of serverTools) {
        const seen = tools.find((t) => t.name === tool.name)!
        expect(JSON.stringify(seen._meta)).toBe(JSON.stringify(tool._meta))
      }
      for (const [uri, read] of reads) expect((await client.readResource({ uri })).contents).toEqual(read.contents)
    }
    expect(uiOf(tools.find((t) => t.name === 'poll-system-stats')!).visibility).toEqual(['app'])
    const stats = await client.callTool({ name: 'poll-system-stats', arguments: {} })
    expect(stats.isError).toBeFalsy()
    expect(stats.structuredContent).toHaveProperty('memory')
  })

  it("applies a client's policy to the app's tool calls", async () => {
    const client = await connect(new StreamableHTTPClientTransport(new URL(plain.url), { requestInit: { headers: { authorization: 'Bearer viewer-token' } } }), era)
    const names = (await client.listTools()).tools.map((t) => t.name)
    expect(names).toContain('get-system-info')
    expect(names).not.toContain('poll-system-stats')
    await expect(client.callTool({ name: 'poll-system-stats', arguments: {} })).rejects.toThrow(/Unknown tool "poll-system-stats"/)
    expect(textOfRead(await client.readResource({ uri: 'ui://system-monitor/mcp-app.html' }))).toContain('<html')
  })

  it('gives each of two servers sharing a ui:// URI its own app, and reads an unlisted app from the tool that names it', async () => {
    const client = await atGateway(plain, era)
    const tools = (await client.listTools()).tools
    const a = uiOf(tools.find((t) => t.name === 'show-a')!).resourceUri!
    const b = uiOf(tools.find((t) => t.name === 'show-b')!).resourceUri!
    expect(a).not.toBe(b)
    expect(textOfRead(await client.readResource({ uri: a }))).toBe('<!doctype html><p>app a</p>')
    expect(textOfRead(await client.readResource({ uri: b }))).toBe('<!doctype html><p>app b</p>')
    // The legacy key says the same as _meta.ui (the ext-apps server helper sets both).
    expect(tools.find((t) => t.name === 'show-b')!._meta?.['ui/resourceUri']).toBe(b)
    // The read answers for the URI asked for.
    expect((await client.readResource({ uri: b })).contents[0]!.uri).toBe(b)
    // b lists nothing: its own unshared app is read from it, under the URI it named.
    const extra = uiOf(tools.find((t) => t.name === 'extra-b')!).resourceUri!
    expect(extra).toBe('ui://b/extra.html')
    expect(textOfRead(await client.readResource({ uri: extra }))).toBe('<!doctype html><p>extra b</p>')
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain(a)
  })

  it('declares the extension to 2025 and 2026 upstreams', async () => {
    const client = await atGateway(plain, era)
    for (const name of ['ui-capability-a', 'ui-capability-b']) {
      const result = await client.callTool({ name, arguments: {} })
      expect(JSON.parse((result.content as { text: string }[])[0]!.text)).toEqual(UI_CAPABILITY[EXTENSION_ID])
    }
  })

  it('with a tool prefix, exposes each app under its pool and reads it byte-identical to a direct read', async () => {
    const client = await atGateway(prefixed, era)
    const tools = (await client.listTools()).tools
    for (const [name, { tools: serverTools, reads }] of Object.entries({ basic: direct.get('basic')!, monitor: direct.get('monitor')! })) {
      for (const tool of serverTools) {
        const seen = tools.find((t) => t.name === `${name[0]}_${tool.name}`)!
        const serverUri = uiOf(tool).resourceUri
        if (!serverUri) {
          expect(JSON.stringify(seen._meta)).toBe(JSON.stringify(tool._meta))
          continue
        }
        const exposed = uiOf(seen).resourceUri!
        expect(exposed).toBe(`ui://airmcp~${name}/${serverUri.slice('ui://'.length)}`)
        expect(seen._meta).toEqual({ ...tool._meta, ui: { ...uiOf(tool), resourceUri: exposed }, 'ui/resourceUri': exposed })
        const read = await client.readResource({ uri: exposed })
        const expected = reads.get(serverUri)!
        expect(read.contents[0]!.uri).toBe(exposed)
        expect(read.contents.map((c) => ({ ...c, uri: serverUri }))).toEqual(expected.contents)
      }
    }
    expect((await client.callTool({ name: 'm_poll-system-stats', arguments: {} })).structuredContent).toHaveProperty('memory')
  })
})

describe('an app URI the gateway renamed', () => {
  it('is subscribed to under that name, and its updates come back under it', async () => {
    const gateway = await startGateway({}, [
      {
        id: 'rt-1',
        name: 'rt',
        tools: { prefix: 'r_' },
        connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/app-runtime.ts'], env: { TRANSPORT: 'stdio' }, cwd: ROOT },
      },
    ])
    const client = await atGateway(gateway, '2025-11-25')
    const uri = uiOf((await client.listTools()).tools.find((t) => t.name === 'r_clock')!).resourceUri!
    expect(uri).toBe('ui://airmcp~rt/clock/app.html')
    const updated: string[] = []
    client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri))
    await client.subscribeResource({ uri })
    await client.callTool({ name: 'r_touch', arguments: {} })
    await expect.poll(() => updated).toEqual([uri])
  })
})
