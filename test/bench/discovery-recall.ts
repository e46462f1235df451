// Recall@k of search_tools on two labelled query sets, shared by the recall test (in-process) and the benchmark:
// the original set over the generated fleet of fixtures/discovery/catalog.ts, and a held-out set over the real
// tool lists of servers nobody here wrote (fixtures/discovery/held-out-*.json), written before the ranker was
// retuned and never used to tune it.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CATALOG, catalogTools } from '../../fixtures/discovery/catalog.js'
import { buildRoutes } from '../../src/gateway/names/catalog.js'
import type { ToolDefinition } from '../../src/gateway/discovery/discovery.js'
import { ROOT } from '../helpers/processes.js'

export interface LabeledQuery {
  query: string
  expected: string[]
}

export interface QuerySet {
  name: string
  source: string
  queries: LabeledQuery[]
  /** The fleet's servers, by name. */
  servers: string[]
  /** The fleet's tools under the names the gateway exposes them by (a name two servers share gets a prefix). */
  tools: ToolDefinition[]
}

const readJson = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'))

function exposed(byServer: Map<string, ToolDefinition[]>): ToolDefinition[] {
  const routes = buildRoutes(new Map([...byServer].map(([server, tools]) => [server, tools.map((t) => t.name)])))
  return [...routes].map(([name, route]) => ({ ...byServer.get(route.pool)!.find((t) => t.name === route.name)!, name }))
}

export const ORIGINAL: QuerySet = {
  name: 'original',
  source: 'test/bench/discovery-queries.json over fixtures/discovery/catalog.ts',
  queries: readJson('test/bench/discovery-queries.json').queries,
  servers: Object.keys(CATALOG),
  tools: exposed(new Map(Object.keys(CATALOG).map((server) => [server, catalogTools(server)]))),
}

const heldOutCatalog: { servers: Record<string, { tools: ToolDefinition[] }> } = readJson('fixtures/discovery/held-out-catalog.json')

export const HELD_OUT: QuerySet = {
  name: 'held-out',
  source: 'fixtures/discovery/held-out-queries.json over fixtures/discovery/held-out-catalog.json',
  queries: readJson('fixtures/discovery/held-out-queries.json').queries,
  servers: Object.keys(heldOutCatalog.servers),
  tools: exposed(new Map(Object.entries(heldOutCatalog.servers).map(([server, { tools }]) => [server, tools]))),
}

/** The share of queries with at least one expected tool among the first k results, and the queries that missed. */
export async function recallAt(
  k: number,
  search: (query: string, limit: number) => Promise<string[]> | string[],
  queries: LabeledQuery[],
): Promise<{ recall: number; misses: { query: string; expected: string[]; got: string[] }[] }> {
  const misses: { query: string; expected: string[]; got: string[] }[] = []
  for (const { query, expected } of queries) {
    const got = await search(query, k)
    if (!expected.some((name) => got.slice(0, k).includes(name))) misses.push({ query, expected, got })
  }
  return { recall: (queries.length - misses.length) / queries.length, misses }
}
