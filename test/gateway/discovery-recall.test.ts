import { describe, expect, it } from 'vitest'
import { tokenize } from '../../src/gateway/bm25.js'
import { leadSentence, ToolCatalog } from '../../src/gateway/discovery.js'
import { HELD_OUT, ORIGINAL, type QuerySet, recallAt } from '../bench/discovery-recall.js'

/**
 * Recall is deterministic (no clock, no randomness), so each floor sits just under the figure measured when
 * it was set: a change that loses a query fails here and says which. The held-out set was written before the
 * ranker was retuned and is never tuned on; its figures are reported as measured (test/bench/RESULTS.md).
 */
const FLOORS: { set: QuerySet; at3: number; at5: number }[] = [
  { set: ORIGINAL, at3: 0.73, at5: 0.75 },
  { set: HELD_OUT, at3: 0.55, at5: 0.65 },
]

describe.each(FLOORS)('search_tools recall on the $set.name set', ({ set, at3, at5 }) => {
  const catalog = new ToolCatalog(set.tools)

  it('keeps its labels honest: enough queries, every expected tool exists', () => {
    expect(set.queries.length).toBeGreaterThanOrEqual(set === HELD_OUT ? 60 : 30)
    const names = new Set(set.tools.map((t) => t.name))
    for (const { expected } of set.queries) for (const name of expected) expect(names).toContain(name)
  })

  it.each([
    [3, at3],
    [5, at5],
  ])('finds an expected tool in the top %i for its share of queries', async (k, floor) => {
    const { recall, misses } = await recallAt(k, (query, limit) => catalog.search(query, () => true, limit).map((h) => h.name), set.queries)
    // The misses are printed so a regression says which queries it lost.
    if (recall < floor) console.error(`${set.name} recall@${k} ${recall.toFixed(3)}; missed:\n${misses.map((m) => `  ${m.query} -> ${m.got.join(', ')} (wanted ${m.expected.join(' or ')})`).join('\n')}`)
    expect(recall).toBeGreaterThanOrEqual(floor)
  })
})

describe('search_tools ranking', () => {
  const catalog = new ToolCatalog(ORIGINAL.tools)

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

  it('matches only the words a tool uses: no synonym table', () => {
    // "remove" meets "delete" only through a synonym; a table of them is what fitted the old ranker to its test set.
    const tools = [{ name: 'delete_item', description: 'Delete an item from the list' }]
    expect(new ToolCatalog(tools).search('remove it', () => true, 5)).toEqual([])
    expect(new ToolCatalog(tools).search('delete it', () => true, 5).map((h) => h.name)).toEqual(['delete_item'])
  })

  it("weighs a description's first sentence above the manual that follows it", () => {
    expect(leadSentence('  Read a file. Use this instead of cat, e.g. for logs.')).toEqual(['Read a file.', ' Use this instead of cat, e.g. for logs.'])
    expect(leadSentence('Notion | Retrieve a user')).toEqual(['Notion | Retrieve a user', ''])
    expect(leadSentence('Run a query\n\nNever use it to write a file')).toEqual(['Run a query\n', '\nNever use it to write a file'])
    const tools = [
      { name: 'start_process', description: 'Start a terminal process. Prefer it to writing a file with echo; a file written this way is not checked.' },
      { name: 'save', description: 'Write a file to disk.' },
    ]
    expect(new ToolCatalog(tools).search('write a file', () => true, 1).map((h) => h.name)).toEqual(['save'])
  })
})
