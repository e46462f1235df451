// Discovery benchmark. The original fleet: 310 tools (22 generated catalog servers and 9 server-everything
// instances, all stdio children of one gateway); bytes of tools/list in full vs search mode, recall@3/@5 of
// search_tools on its labelled queries (words and meaning blended), the one-time cost of embedding a fleet's
// tools, the ranking time per query, search_tools latency next to a plain call. The held-out fleet: the
// real tool lists of 17 servers nobody here wrote (fixtures/discovery/held-out-catalog.json, each served as
// listed by fixtures/servers/held-out.ts behind a second gateway), with recall@3/@5 on queries written
// before the ranker was retuned and never tuned on.
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { type Connection, Gateway } from 'airmcp/gateway'
import { CATALOG } from '../../fixtures/discovery/catalog.js'
import { Bm25Index } from '../../src/gateway/discovery/bm25.js'
import { ToolCatalog, type ToolDefinition, toolFields } from '../../src/gateway/discovery/discovery.js'
import { ROOT, TSX_NODE_ARGS } from '../helpers/processes.js'
import { HELD_OUT, type LabeledQuery, ORIGINAL, type QuerySet, recallAt } from './discovery-recall.js'
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

interface Fleet {
  gateway: Gateway
  /** A client in search mode and one in full mode, both through the gateway. */
  search: Client
  full: Client
  toolCount: number
}

/** A gateway over stdio upstreams with a full-mode and a search-mode client; stopped when `use` ends. */
async function withFleet<T>(name: string, upstreams: { name: string; connection: Connection }[], use: (fleet: Fleet) => Promise<T>): Promise<T> {
  const gateway = new Gateway({
    name,
    port: 0,
    handleSignals: false,
    connectTimeout: 60_000,
    // The gateway ranks by meaning here; words alone (the default) are measured in process beside it.
    searchByMeaning: true,
    clients: [
      { name: 'full', token: 'full-token' },
      { name: 'search', token: 'search-token', discovery: 'search' },
    ],
  })
  for (const upstream of upstreams) gateway.register({ id: `${upstream.name}-1`, ...upstream })
  await gateway.start()
  const clients: Client[] = []
  try {
    const down = gateway.list().filter((s) => s.status !== 'connected')
    if (down.length) throw new Error(`upstreams not connected: ${down.map((s) => `${s.id} ${s.lastError}`).join('; ')}`)
    const connect = async (token: string) => {
      const client = new Client({ name: 'bench', version: '1' })
      await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url!), { requestInit: { headers: { authorization: `Bearer ${token}` } } }))
      clients.push(client)
      return client
    }
    const toolCount = gateway.list().reduce((sum, s) => sum + s.tools.length, 0)
    return await use({ gateway, search: await connect('search-token'), full: await connect('full-token'), toolCount })
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()))
    await gateway.stop()
  }
}

const searchThrough = (client: Client) => async (query: string, limit: number) => {
  const result = await client.callTool({ name: 'search_tools', arguments: { query, limit } })
  return (result.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name)
}

interface SetFigures {
  set: QuerySet
  at3: Awaited<ReturnType<typeof recallAt>>
  at5: Awaited<ReturnType<typeof recallAt>>
  /** The gateway's first search_tools call on this fleet: it embeds every tool (and, on the first fleet, loads the model), ms. */
  firstSearchMs: number
  /** Median time to rank one query in a warm catalog (embedding the query included), ms. */
  rankingMs: number
  /** The same, words alone (BM25F, the default), for comparison. */
  wordsMs: number
  /** Recall@3 and @5 by words alone (in process, on the same tools). */
  wordsRecall: [number, number]
  catalogSize: number
}

/** Recall through the gateway's search_tools, and the ranking alone on the tools the full-mode client sees. */
async function measureSet(fleet: Fleet, set: QuerySet): Promise<SetFigures> {
  const search = searchThrough(fleet.search)
  const started = performance.now()
  await search(set.queries[0].query, 5)
  const firstSearchMs = performance.now() - started
  const [at3, at5] = [await recallAt(3, search, set.queries), await recallAt(5, search, set.queries)]
  const tools = (await fleet.full.listTools()).tools as ToolDefinition[]
  const catalog = new ToolCatalog(tools, { byMeaning: true })
  await catalog.search(set.queries[0].query, () => true, 5)
  const wordsCatalog = new ToolCatalog(tools)
  const byWords = async (query: string, limit: number) => (await wordsCatalog.search(query, () => true, limit)).map((hit) => hit.name)
  const wordsRecall: [number, number] = [(await recallAt(3, byWords, set.queries)).recall, (await recallAt(5, byWords, set.queries)).recall]
  const words = new Bm25Index(tools.map((tool) => ({ id: tool.name, fields: toolFields(tool) })))
  const [rankings, wordRankings]: number[][] = [[], []]
  for (let i = 0; i < SEARCH_CALLS; i++) {
    const { query } = set.queries[i % set.queries.length]
    let started = performance.now()
    await catalog.search(query, () => true, 5)
    rankings.push(performance.now() - started)
    started = performance.now()
    words.search(query)
    wordRankings.push(performance.now() - started)
  }
  return { set, at3, at5, firstSearchMs, rankingMs: median(rankings), wordsMs: median(wordRankings), wordsRecall, catalogSize: catalog.size }
}

async function roundTrips(client: Client, queries: LabeledQuery[]): Promise<{ search: number; plain: number }> {
  const search = searchThrough(client)
  const searches: number[] = []
  for (let i = 0; i < SEARCH_CALLS; i++) {
    const started = performance.now()
    await search(queries[i % queries.length].query, 5)
    searches.push(performance.now() - started)
  }
  // The same client's plain tools/call of a catalog tool through the gateway, as the floor of a round trip here.
  const plain: number[] = []
  for (let i = 0; i < SEARCH_CALLS; i++) {
    const started = performance.now()
    await client.callTool({ name: 'count_words', arguments: { text: 'a b c' } })
    plain.push(performance.now() - started)
  }
  return { search: median(searches), plain: median(plain) }
}

export async function discoverySection(out: (line?: string) => void): Promise<void> {
  const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js')
  const original = [
    ...ORIGINAL.servers.map((server) => ({
      name: server,
      connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/catalog.ts'], env: { CATALOG_SERVER: server }, cwd: ROOT } as Connection,
    })),
    ...Array.from({ length: EVERYTHING_INSTANCES }, (_, i) => ({
      name: `everything${i + 1}`,
      connection: { type: 'stdio', command: 'node', args: [everything, 'stdio'], cwd: ROOT } as Connection,
    })),
  ]
  const first = await withFleet('discovery-bench', original, async (fleet) => ({
    toolCount: fleet.toolCount,
    servers: fleet.gateway.list().length,
    fullBytes: await rawListBytes(fleet.gateway.url!, 'full-token'),
    searchBytes: await rawListBytes(fleet.gateway.url!, 'search-token'),
    figures: await measureSet(fleet, ORIGINAL),
    latency: await roundTrips(fleet.search, ORIGINAL.queries),
  }))
  const heldOut = await withFleet(
    'discovery-held-out',
    HELD_OUT.servers.map((server) => ({
      name: server,
      connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/held-out.ts'], env: { HELD_OUT_SERVER: server }, cwd: ROOT } as Connection,
    })),
    async (fleet) => ({ toolCount: fleet.toolCount, figures: await measureSet(fleet, HELD_OUT) }),
  )

  out('## Gateway: progressive discovery')
  out()
  out(
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench discovery\`, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores. ` +
      `Original fleet: ${first.toolCount} tools from ${first.servers} stdio servers (${Object.keys(CATALOG).length} generated from fixtures/discovery/catalog.ts, ${EVERYTHING_INSTANCES} × @modelcontextprotocol/server-everything). ` +
      `Held-out fleet: ${heldOut.toolCount} tools, the real tool lists of ${HELD_OUT.servers.length} servers nobody here wrote (fixtures/discovery/held-out-catalog.json, source per server), behind a second gateway.`,
  )
  out()
  out('| measure | value | target |')
  out('| --- | --- | --- |')
  out(`| tools/list bytes, full mode | ${first.fullBytes} | |`)
  out(`| tools/list bytes, search mode | ${first.searchBytes} (${fmt(first.fullBytes / first.searchBytes)}× smaller) | |`)
  for (const { set, at3, at5, firstSearchMs, rankingMs, wordsMs, wordsRecall, catalogSize } of [first.figures, heldOut.figures]) {
    const target = set === HELD_OUT ? 'recall@3 ≥ 0.90' : ''
    out(`| search_tools recall@3 / recall@5 by words (default), ${set.queries.length} ${set.name} queries (${set.source}) | ${fmt(wordsRecall[0])} / ${fmt(wordsRecall[1])} | ${target} |`)
    out(`| the same with \`searchByMeaning\`, through the gateway | ${fmt(at3.recall)} / ${fmt(at5.recall)} | ${target} |`)
    const model = set === ORIGINAL ? 'loading the model and embedding' : 'embedding'
    out(`| search_tools first call, ${set.name} fleet: ${model} its ${catalogSize} tools (once per tool list) | ${fmt(firstSearchMs, 0)} ms | |`)
    out(`| search_tools median ranking time, ${set.name} fleet (query embedding + BM25F over ${catalogSize} tools), ${SEARCH_CALLS} queries | ${fmt(rankingMs, 1)} ms (words alone: ${fmt(wordsMs, 3)} ms) | |`)
  }
  out(`| search_tools median round trip through the gateway (client → gateway → client) with \`searchByMeaning\`, ${SEARCH_CALLS} calls | ${fmt(first.latency.search)} ms | ≤ 5 ms |`)
  out(`| for comparison: a plain tools/call of a catalog tool through the gateway, same client, median | ${fmt(first.latency.plain)} ms | |`)
  out()
  for (const { set, at3 } of [first.figures, heldOut.figures]) {
    if (at3.misses.length) out(`Missed in the top 3, ${set.name} set: ${at3.misses.map((m) => `"${m.query}" (wanted ${m.expected.join(' or ')})`).join('; ')}.`)
    out()
  }
}
