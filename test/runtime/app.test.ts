import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server'
import { defineServer, defineTool } from 'airmcp'
import { closeEraClients, connectEra, type Era } from '../helpers/era-clients.js'
import { killAll, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

// A runtime server whose tools carry MCP Apps (fixtures/servers/app-runtime.ts), read by SDK clients of both
// eras over Streamable HTTP and stdio.
const FIXTURE = 'fixtures/servers/app-runtime.ts'
let url = ''

beforeAll(async () => {
  url = (await startListening([...TSX_NODE_ARGS, FIXTURE], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0' } })).url
})

afterAll(async () => {
  await closeEraClients()
  await killAll()
})

function connect(transport: 'http' | 'stdio', era: Era) {
  return connectEra(
    transport === 'http'
      ? new StreamableHTTPClientTransport(new URL(url))
      : new StdioClientTransport({ command: process.execPath, args: [...TSX_NODE_ARGS, FIXTURE], env: { ...process.env, TRANSPORT: 'stdio' } as Record<string, string>, cwd: ROOT, stderr: 'ignore' }),
    era,
  )
}

const CELLS = (['http', 'stdio'] as const).flatMap((transport) => (['2025-11-25', '2026-07-28'] as const).map((era) => [transport, era] as const))

describe.each(CELLS)('tools with apps over %s, %s client', (transport, era) => {
  it('lists each tool with its _meta.ui and serves its app as a ui:// resource', async () => {
    const client = await connect(transport, era)
    const tools = Object.fromEntries((await client.listTools()).tools.map((t) => [t.name, t]))
    expect(tools.clock!._meta).toEqual({ ui: { resourceUri: 'ui://clock/app.html' }, 'ui/resourceUri': 'ui://clock/app.html' })
    expect(tools.dash!._meta).toEqual({ ui: { resourceUri: 'ui://dashboards/main.html' }, 'ui/resourceUri': 'ui://dashboards/main.html' })
    expect(tools.tick!._meta).toEqual({ ui: { visibility: ['app'] } })

    const clock = await client.readResource({ uri: 'ui://clock/app.html' })
    expect(clock.contents).toEqual([
      {
        uri: 'ui://clock/app.html',
        mimeType: RESOURCE_MIME_TYPE,
        text: '<!doctype html><p id="clock">clock app</p>',
        _meta: { ui: { csp: { connectDomains: ['https://api.example.com'], resourceDomains: ['https://cdn.example.com'] }, prefersBorder: true } },
      },
    ])
    const dash = await client.readResource({ uri: 'ui://dashboards/main.html' })
    expect(dash.contents).toEqual([{ uri: 'ui://dashboards/main.html', mimeType: RESOURCE_MIME_TYPE, text: readFileSync(`${ROOT}/fixtures/apps/dash.html`, 'utf8') }])
    const listed = (await client.listResources()).resources
    expect(listed.map((r) => [r.uri, r.mimeType])).toEqual([
      ['ui://clock/app.html', RESOURCE_MIME_TYPE],
      ['ui://dashboards/main.html', RESOURCE_MIME_TYPE],
    ])
    // The app-only tool is callable (the host keeps it from the model; the server does not tell callers apart).
    expect((await client.callTool({ name: 'tick', arguments: {} })).structuredContent).toHaveProperty('ticks')
  })
})

describe('bad ui options', () => {
  const serve = (ui: unknown) => () => defineServer({ name: 's', version: '1', transport: { type: 'stdio' }, tools: [defineTool('t', { ui: ui as never, handler: () => '' })] })
  it('refuses them at defineServer with the fix', () => {
    expect(serve({})).toThrow(/Tool "t": ui needs html or file\. Try this/)
    expect(serve({ html: 'x', file: 'y' })).toThrow(/both html and file/)
    expect(serve({ html: 'x', uri: 'https://x' })).toThrow(/ui\.uri must start with ui:\/\//)
    expect(serve({ html: 'x', visibility: ['user'] })).toThrow(/visibility must list "model" and\/or "app"/)
    expect(serve({ html: 'x', colour: 'red' })).toThrow(/unknown key "colour"/)
    expect(serve({ html: 'x' })).not.toThrow()
  })
})
