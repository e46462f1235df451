// Discovery benchmark: a fleet of 310 tools (22 generated catalog servers and 9 server-everything
// instances, all stdio children of one gateway); bytes of tools/list in full vs search mode, recall@5 of
// search_tools on the labeled queries, and search_tools latency.
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Gateway } from 'airmcp/gateway'
import { CATALOG } from '../../fixtures/discovery/catalog.js'
import { ToolCatalog, type ToolDefinition } from '../../src/gateway/discovery.js'
import { ROOT, TSX_NODE_ARGS } from '../helpers/processes.js'
import { LABELED_QUERIES, recallAt } from './discovery-recall.js'
import { fmt } from './measure.js'

const EVERYTHING_INSTANCES = 9
const SEARCH_CALLS = 200

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** The body of one JSON-RPC request on a fresh session, as the bytes that travel. */
async function rawListBytes(url: string, token: string): Promise<number> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` }
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }),
  })
  const session = init.headers.get('mcp-session-id')!
  await init.text()
  const sessionHeaders = { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }
  await (await fetch(url, { method: 'POST', headers: sessionHeaders, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text()
  const list = await fetch(url, { method: 'POST', headers: sessionHeaders, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) })
  const bytes = Buffer.byteLength(await list.text())
  await fetch(url, { method: 'DELETE', headers: sessionHeaders }).then((r) => r.text())
  return bytes
}

export async function discoverySection(out: (line?: string) => void): Promise<void> {
  const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js')
  const gateway = new Gateway({
    name: 'discovery-bench',
    port: 0,
    handleSignals: false,
    connectTimeout: 60_000,
    clients: [
      { name: 'full', token: 'full-token' },
      { name: 'search', token: 'search-token', discovery: 'search' },
    ],
  })
  for (const server of Object.keys(CATALOG)) {
    gateway.register({
      id: `${server}-1`,
      name: server,
      connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/catalog.ts'], env: { CATALOG_SERVER: server }, cwd: ROOT },
    })
  }
  for (let i = 1; i <= EVERYTHING_INSTANCES; i++) {
    gateway.register({ id: `everything${i}-1`, name: `everything${i}`, connection: { type: 'stdio', command: 'node', args: [everything, 'stdio'], cwd: ROOT } })
  }
  await gateway.start()
  try {
    const down = gateway.list().filter((s) => s.status !== 'connected')
    if (down.length) throw new Error(`upstreams not connected: ${down.map((s) => `${s.id} ${s.lastError}`).join('; ')}`)
    const client = new Client({ name: 'bench', version: '1' })
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url!), { requestInit: { headers: { authorization: 'Bearer search-token' } } }))
    const toolCount = gateway.list().reduce((sum, s) => sum + s.tools.length, 0)
    const [fullBytes, searchBytes] = [await rawListBytes(gateway.url!, 'full-token'), await rawListBytes(gateway.url!, 'search-token')]

    const search = async (query: string, limit: number) => {
      const result = await client.callTool({ name: 'search_tools', arguments: { query, limit } })
      return (result.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name)
    }
    const { recall, misses } = await recallAt(5, search)

    const roundTrips: number[] = []
    for (let i = 0; i < SEARCH_CALLS; i++) {
      const { query } = LABELED_QUERIES[i % LABELED_QUERIES.length]
      const started = performance.now()
      await search(query, 5)
      roundTrips.push(performance.now() - started)
    }
    // The same client's plain tools/call of a catalog tool through the gateway, as the floor of a round trip here.
    const plainCalls: number[] = []
    for (let i = 0; i < SEARCH_CALLS; i++) {
      const started = performance.now()
      await client.callTool({ name: 'count_words', arguments: { text: 'a b c' } })
      plainCalls.push(performance.now() - started)
    }
    // The ranking alone, on the same 300+ tools as the full-mode client sees them.
    const full = new Client({ name: 'bench', version: '1' })
    await full.connect(new StreamableHTTPClientTransport(new URL(gateway.url!), { requestInit: { headers: { authorization: 'Bearer full-token' } } }))
    const catalog = new ToolCatalog((await full.listTools()).tools as ToolDefinition[])
    const rankings: number[] = []
    for (let i = 0; i < SEARCH_CALLS; i++) {
      const { query } = LABELED_QUERIES[i % LABELED_QUERIES.length]
      const started = performance.now()
      catalog.search(query, () => true, 5)
      rankings.push(performance.now() - started)
    }
    await Promise.all([client.close(), full.close()])

    out('## Gateway: progressive discovery')
    out()
    out(`Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench discovery\`, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores. Fleet: ${toolCount} tools from ${gateway.list().length} stdio servers (${Object.keys(CATALOG).length} generated from fixtures/discovery/catalog.ts, ${EVERYTHING_INSTANCES} × @modelcontextprotocol/server-everything).`)
    out()
    out('| measure | value | target |')
    out('| --- | --- | --- |')
    out(`| tools/list bytes, full mode | ${fullBytes} | |`)
    out(`| tools/list bytes, search mode | ${searchBytes} (${fmt(fullBytes / searchBytes)}× smaller) | |`)
    out(`| search_tools recall@5, ${LABELED_QUERIES.length} labeled queries (test/bench/discovery-queries.json) | ${recall.toFixed(2)} | ≥ 0.9 |`)
    out(`| search_tools median round trip through the gateway (client → gateway → client), ${SEARCH_CALLS} calls | ${median(roundTrips).toFixed(2)} ms | ≤ 5 ms |`)
    out(`| for comparison: a plain tools/call of a catalog tool through the gateway, same client, median | ${median(plainCalls).toFixed(2)} ms | |`)
    out(`| search_tools median ranking time in the gateway (BM25F over ${catalog.size} tools), ${SEARCH_CALLS} queries | ${median(rankings).toFixed(3)} ms | |`)
    out()
    if (misses.length) out(`Missed: ${misses.map((m) => `"${m.query}" (wanted ${m.expected.join(' or ')})`).join('; ')}.`)
    out()
  } finally {
    await gateway.stop()
  }
}
