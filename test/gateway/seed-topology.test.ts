import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, startListening, type Started } from '../helpers/processes.js'
import { buildSeedWorkspace } from '../helpers/seed-workspace.js'

// The seed's servers and gateway as written (imports renamed); only the ports are ephemeral.
describe('the seed topology through the gateway', () => {
  let gateway: Started
  let dir = ''

  beforeAll(async () => {
    const compiled = buildSeedWorkspace()
    const search = await startListening([join(compiled, 'servers/search/dist/index.js')], { env: { AIRMCP_PORT: '0' } })
    const files = await startListening([join(compiled, 'servers/files/dist/index.js')], { env: { AIRMCP_PORT: '0' } })
    // Rewrite the two URLs of the compiled gateway to the servers' ephemeral ports.
    dir = buildSeedWorkspace((name, text) =>
      name === 'gateway'
        ? text
            .replace('http://localhost:3510', new URL(search.url).origin)
            .replace('http://localhost:3511', new URL(files.url).origin)
        : text,
    )
    gateway = await startListening(['dist/index.js'], {
      cwd: join(dir, 'gateway'),
      env: { AIRMCP_GATEWAY_PORT: '0' },
      pattern: /listening on (http:\/\/\S+)/,
    })
  }, 120_000)
  afterAll(async () => {
    await closeClients()
    await killAll()
  })

  it('lists every server\'s tools on /mcp and calls each one', async () => {
    const client = await connectClient('http', gateway.url)
    const names = (await client.listTools()).tools.map((t) => t.name).sort()
    expect(names).toEqual(['aggregate', 'list_files', 'read_file', 'search', 'search_reindex'])
    const search = await client.callTool({ name: 'search', arguments: { query: 'hello' } })
    expect(search.structuredContent).toEqual({ results: [], total: 0, query: 'hello' })
    expect(textOf(await client.callTool({ name: 'search_reindex' }))).toContain('reindexing')
    const file = await client.callTool({ name: 'read_file', arguments: { path: join(dir, 'gateway/package.json') } })
    expect(JSON.parse(textOf(file))).toMatchObject({ name: 'gateway' })
    const listing = await client.callTool({ name: 'list_files', arguments: { dir: join(dir, 'gateway') } })
    expect(listing.structuredContent).toMatchObject({ items: expect.arrayContaining([{ name: 'src', type: 'directory' }]) })
    const aggregate = await client.callTool({ name: 'aggregate', arguments: { metric: 'sales', period: '30d' } })
    expect(aggregate.structuredContent).toMatchObject({ metric: 'sales', period: '30d', unit: 'count' })
    const template = (await client.listResourceTemplates()).resourceTemplates
    expect(template.map((t) => t.uriTemplate)).toEqual(['file:///{path}'])
  })

  it('prints the seed\'s status lines and reports health', async () => {
    await expect
      .poll(() => gateway.stdout())
      .toContain("Registered servers: [ 'search (connected)', 'files (connected)', 'analytics (connected)' ]")
    const health = await (await fetch(new URL('/health', gateway.url))).json()
    expect(health.status).toBe('ok')
    expect(health.servers.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual([
      'search-1:connected',
      'files-1:connected',
      'analytics-1:connected',
    ])
  })

  it('serves the same tools on stdio when launched with --stdio, with nothing but JSON-RPC on stdout', async () => {
    const client = await connectClient('stdio', { command: process.execPath, args: [join(dir, 'gateway/dist/index.js'), '--stdio'], cwd: join(dir, 'gateway') })
    const names = (await client.listTools()).tools.map((t) => t.name).sort()
    expect(names).toEqual(['aggregate', 'list_files', 'read_file', 'search', 'search_reindex'])
    const aggregate = await client.callTool({ name: 'aggregate', arguments: { metric: 'm', period: '1y' } })
    expect(aggregate.structuredContent).toMatchObject({ period: '1y' })
  })

  it('finds the stdio server from the workspace root too', async () => {
    const fromRoot = await startListening(['gateway/dist/index.js'], { cwd: dir, env: { AIRMCP_GATEWAY_PORT: '0' } })
    const client = await connectClient('http', fromRoot.url)
    const aggregate = await client.callTool({ name: 'aggregate', arguments: { metric: 'm', period: '7d' } })
    expect(aggregate.structuredContent).toMatchObject({ metric: 'm' })
  })
})
