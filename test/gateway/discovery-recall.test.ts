import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { tokenize } from '../../src/gateway/discovery/bm25.js'
import { leadSentence, ToolCatalog } from '../../src/gateway/discovery/discovery.js'
import { HELD_OUT, ORIGINAL, type QuerySet, recallAt } from '../bench/discovery-recall.js'
import { ROOT } from '../helpers/processes.js'

/**
 * Recall is deterministic (no clock, no randomness: the embedding model is a fixed function), so each floor
 * sits just under the figure measured when it was set: a change that loses a query fails here and says which.
 * Measured with words alone (the default): original 0.74 / 0.76, held-out 0.55 / 0.66; with words and meaning
 * blended (`searchByMeaning`): 0.80 / 0.84 and 0.62 / 0.71. The held-out set was written before the ranker was
 * retuned and is never tuned on; its figures are reported as measured (test/bench/RESULTS.md).
 */
const FLOORS: { set: QuerySet; byMeaning: boolean; at3: number; at5: number }[] = [
  { set: ORIGINAL, byMeaning: false, at3: 0.73, at5: 0.75 },
  { set: HELD_OUT, byMeaning: false, at3: 0.54, at5: 0.65 },
  { set: ORIGINAL, byMeaning: true, at3: 0.79, at5: 0.83 },
  { set: HELD_OUT, byMeaning: true, at3: 0.61, at5: 0.7 },
]

/** One catalog per set and ranking, so the model embeds each fleet's tools once for all the tests below. */
const catalogs = new Map<string, ToolCatalog>()
function catalogOf(set: QuerySet, byMeaning = true): ToolCatalog {
  const key = `${set.name} ${byMeaning}`
  return catalogs.get(key) ?? catalogs.set(key, new ToolCatalog(set.tools, { byMeaning })).get(key)!
}
const byMeaning = { byMeaning: true }

const names = async (hits: Promise<{ name: string }[]>) => (await hits).map((h) => h.name)

describe.each(FLOORS)('search_tools recall on the $set.name set (by meaning: $byMeaning)', ({ set, byMeaning, at3, at5 }) => {
  const catalog = catalogOf(set, byMeaning)

  it('keeps its labels honest: enough queries, every expected tool exists', () => {
    expect(set.queries.length).toBeGreaterThanOrEqual(set === HELD_OUT ? 60 : 30)
    const names = new Set(set.tools.map((t) => t.name))
    for (const { expected } of set.queries) for (const name of expected) expect(names).toContain(name)
  })

  it.each([
    [3, at3],
    [5, at5],
  ])('finds an expected tool in the top %i for its share of queries', async (k, floor) => {
    const { recall, misses } = await recallAt(k, (query, limit) => names(catalog.search(query, () => true, limit)), set.queries)
    // The misses are printed so a regression says which queries it lost.
    if (recall < floor) console.error(`${set.name} recall@${k} ${recall.toFixed(3)}; missed:\n${misses.map((m) => `  ${m.query} -> ${m.got.join(', ')} (wanted ${m.expected.join(' or ')})`).join('\n')}`)
    expect(recall).toBeGreaterThanOrEqual(floor)
  })
})

describe('search_tools ranking', () => {
  const catalog = catalogOf(ORIGINAL)

  it('ranks by name, description and parameters, and filters before cutting to the limit', async () => {
    expect(await names(catalog.search('pull_number', () => true, 3))).toContain('merge_pull_request')
    const hidden = await catalog.search('merge the pull request', (name) => name !== 'merge_pull_request', 5)
    expect(hidden.map((h) => h.name)).not.toContain('merge_pull_request')
    expect(hidden).toHaveLength(5)
    expect(await catalog.search('merge the pull request', () => false, 5)).toEqual([])
  })

  it('splits names and stems words so different spellings meet', () => {
    expect(tokenize('getUserById get_user_by_id')).toEqual(['get', 'user', 'by', 'id', 'get', 'user', 'by', 'id'].filter((w) => w !== 'get' && w !== 'by'))
    expect(new Set(tokenize('delete deleted deleting deletes'))).toEqual(new Set(['delet']))
  })

  it('finds a tool by meaning when the query shares no word with it (no synonym table)', async () => {
    // "remove" meets "delete" only through the embedding model: a synonym table written by hand is what fitted the old ranker to its test set.
    const tools = [
      { name: 'delete_item', description: 'Delete an item from the list' },
      { name: 'add_item', description: 'Add an item to the list' },
      { name: 'get_weather', description: 'Current weather for a city' },
    ]
    expect(tokenize('remove it')).not.toContain('delet')
    expect(await names(new ToolCatalog(tools, byMeaning).search('remove an entry', () => true, 1))).toEqual(['delete_item'])
    expect(await names(new ToolCatalog(tools, byMeaning).search('is it raining in Paris', () => true, 1))).toEqual(['get_weather'])
  })

  it('a catalog built on its previous revision ranks the tools added since', async () => {
    const first = new ToolCatalog([{ name: 'delete_item', description: 'Delete an item from the list' }], byMeaning)
    await first.search('remove', () => true, 1)
    const second = new ToolCatalog([{ name: 'delete_item', description: 'Delete an item from the list' }, { name: 'get_weather', description: 'Current weather for a city' }], { byMeaning: true, previous: first })
    expect(await names(second.search('is it raining', () => true, 1))).toEqual(['get_weather'])
  })

  it("weighs a description's first sentence above the manual that follows it", async () => {
    expect(leadSentence('  Read a file. Use this instead of cat, e.g. for logs.')).toEqual(['Read a file.', ' Use this instead of cat, e.g. for logs.'])
    expect(leadSentence('Notion | Retrieve a user')).toEqual(['Notion | Retrieve a user', ''])
    expect(leadSentence('Run a query\n\nNever use it to write a file')).toEqual(['Run a query\n', '\nNever use it to write a file'])
    const tools = [
      { name: 'start_process', description: 'Start a terminal process. Prefer it to writing a file with echo; a file written this way is not checked.' },
      { name: 'save', description: 'Write a file to disk.' },
    ]
    expect(await names(new ToolCatalog(tools, byMeaning).search('write a file', () => true, 1))).toEqual(['save'])
  })

  it('falls back to words, with one warning, when the embedding model cannot load', async () => {
    // A real gateway module in a real process where the model's packages fail to resolve, as when they are missing.
    const hide = 'export async function resolve(s, c, next) { if (s.startsWith("@energetic-ai/")) throw new Error("not installed"); return next(s, c) }'
    const hook = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hide)}`)})`
    const script = `
      const { ToolCatalog } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/gateway/discovery/discovery.js')).href)})
      const catalog = new ToolCatalog([{ name: 'delete_item', description: 'Delete an item from the list' }, { name: 'get_weather', description: 'Current weather for a city' }], { byMeaning: true })
      const names = async (query) => (await catalog.search(query, () => true, 5)).map((hit) => hit.name)
      console.log(JSON.stringify([await names('delete it'), await names('remove it')]))`
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, '--input-type=module', '-e', script], {
      env: { ...process.env, AIRMCP_LOG_FORMAT: 'text' },
    })
    expect(JSON.parse(stdout)).toEqual([['delete_item'], []])
    expect(stderr.match(/ranks by words only/g)).toHaveLength(1)
    expect(stderr).toContain('not installed')
  })
})
