import { describe, expect, it } from 'vitest'
import { buildRoutes } from '../../src/gateway/catalog.js'
import { tokenize } from '../../src/gateway/bm25.js'
import { ToolCatalog } from '../../src/gateway/discovery.js'
import { CATALOG, catalogTools } from '../../fixtures/discovery/catalog.js'
import { LABELED_QUERIES, recallAt } from '../bench/discovery-recall.js'

/** The fleet's tools under the names the gateway exposes them by. */
function fleetTools() {
  const tools = new Map(Object.keys(CATALOG).map((server) => [server, catalogTools(server)]))
  const routes = buildRoutes(new Map([...tools].map(([server, list]) => [server, list.map((t) => t.name)])))
  return [...routes].map(([exposed, route]) => ({ ...tools.get(route.pool)!.find((t) => t.name === route.name)!, name: exposed }))
}

describe('search_tools relevance', () => {
  const tools = fleetTools()
  const catalog = new ToolCatalog(tools)

  it('keeps its labels honest: at least 30 queries, every expected tool exists', () => {
    expect(LABELED_QUERIES.length).toBeGreaterThanOrEqual(30)
    const names = new Set(tools.map((t) => t.name))
    for (const { expected } of LABELED_QUERIES) for (const name of expected) expect(names).toContain(name)
  })

  it('finds the right tool in the top 5 for at least 90% of the labeled queries', async () => {
    const { recall, misses } = await recallAt(5, (query, limit) => catalog.search(query, () => true, limit).map((h) => h.name))
    // The misses are printed so a regression says which queries it lost.
    if (misses.length) console.error(`recall@5 ${recall.toFixed(3)}; missed:\n${misses.map((m) => `  ${m.query} -> ${m.got.join(', ')} (wanted ${m.expected.join(' or ')})`).join('\n')}`)
    expect(recall).toBeGreaterThanOrEqual(0.9)
  })

  it('ranks by name, description and parameters, and filters before cutting to the limit', () => {
    expect(catalog.search('pull_number', () => true, 3).map((h) => h.name)).toContain('merge_pull_request')
    const hidden = catalog.search('merge the pull request', (name) => name !== 'merge_pull_request', 5)
    expect(hidden.map((h) => h.name)).not.toContain('merge_pull_request')
    expect(hidden).toHaveLength(5)
    expect(catalog.search('zzqx qqvv', () => true, 5)).toEqual([])
  })

  it('splits names and stems words so different spellings meet', () => {
    expect(tokenize('getUserById get_user_by_id')).toEqual(['get', 'user', 'by', 'id', 'get', 'user', 'by', 'id'].filter((w) => w !== 'get' && w !== 'by'))
    expect(new Set(tokenize('delete deleted deleting deletes'))).toEqual(new Set(['delet']))
  })
})
