/**
 * A small BM25F ranker for tool search: local, no network, no dependency. Fields are weighted (a word in
 * a tool's name counts more than one in a parameter's description), words are split at case changes,
 * digits and punctuation, reduced by a light suffix stemmer, and a query word also matches a few common
 * synonyms at a lower weight (people ask to "remove" what a tool calls "delete").
 */

const STOPWORDS = new Set(
  (
    'a an and are as at be by can could do does for from get give how i if in into is it its me my of on or our ' +
    'please should so some that the their them then there these this those to us use using want was we what ' +
    'when where which who will with would you your all any'
  ).split(' '),
)

/** Groups of words people use for one action or thing; a query word matches the others at half weight. */
const SYNONYM_GROUPS = [
  'delete remove erase drop destroy purge',
  'create add new make insert open start arrange organize setup',
  'update edit modify change set patch rename',
  'find search lookup look query locate seek',
  'list enumerate show browse all every',
  'fetch read retrieve load download view',
  'send post publish notify message tell announce say',
  'upload put store save write',
  'stop halt kill terminate cancel',
  'run execute trigger invoke launch',
  'user person member people account',
  'file document doc',
  'folder directory dir',
  'email mail inbox',
  'meeting event appointment calendar',
  'issue ticket bug',
  'error failure exception crash',
  'cost price spend spending charge',
  'invoice bill billing',
  'refund reimburse money back',
  'free available availability busy',
  'share access permission grant',
  'sql select query row table',
  'conversion funnel drop churn',
  'schedule plan book',
  'sum total add',
  'picture image photo',
  'repo repository project',
  'chat channel conversation',
  'reply respond answer',
  'translate translation language spanish french german english italian chinese japanese',
  'weather forecast temperature rain snow sunny wind',
  'log logs logging',
  'metric metrics measurement stat statistic',
  'deploy deployment release rollout ship',
  'customer client contact lead',
  'payment pay',
  'song track music',
  'city place location address',
  'random sample',
  'environment env variable',
]

const SYNONYMS = new Map<string, string[]>()
for (const group of SYNONYM_GROUPS) {
  const stems = group.split(' ').map(stem)
  for (const word of stems) SYNONYMS.set(word, [...new Set([...(SYNONYMS.get(word) ?? []), ...stems.filter((s) => s !== word)])])
}

/** A light suffix stemmer: enough that "deleting", "deleted" and "deletes" meet at "delet". */
export function stem(word: string): string {
  let w = word
  if (w.length > 4 && w.endsWith('ies')) return `${w.slice(0, -3)}y`
  if (w.length > 4 && w.endsWith('sses')) return w.slice(0, -2)
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !w.endsWith('is')) w = w.slice(0, -1)
  if (w.length >= 8 && w.endsWith('ment')) return w.slice(0, -4)
  for (const suffix of ['ing', 'ed', 'er', 'ion', 'ly', 'e']) {
    if (w.length - suffix.length >= 3 && w.endsWith(suffix)) return w.slice(0, -suffix.length)
  }
  return w
}

/** Lower-cased, stemmed words of a text; `getUserById`, `get_user_by_id` and "get user by id" agree. */
export function tokenize(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 1 && !STOPWORDS.has(word))
    .map(stem)
}

/** One field of a document with its weight. */
export interface Field {
  text: string
  weight: number
}

interface Doc {
  id: string
  tf: Map<string, number>
  length: number
}

const K1 = 1.2
const B = 0.75

/** An immutable BM25F index over documents made of weighted fields. */
export class Bm25Index {
  private readonly docs: Doc[] = []
  private readonly df = new Map<string, number>()
  private readonly avgLength: number

  constructor(documents: { id: string; fields: Field[] }[]) {
    for (const { id, fields } of documents) {
      const tf = new Map<string, number>()
      let length = 0
      for (const field of fields) {
        for (const term of tokenize(field.text)) {
          tf.set(term, (tf.get(term) ?? 0) + field.weight)
          length += field.weight
        }
      }
      for (const term of tf.keys()) this.df.set(term, (this.df.get(term) ?? 0) + 1)
      this.docs.push({ id, tf, length })
    }
    this.avgLength = this.docs.reduce((sum, d) => sum + d.length, 0) / Math.max(1, this.docs.length) || 1
  }

  get size(): number {
    return this.docs.length
  }

  private idf(term: string): number {
    const df = this.df.get(term) ?? 0
    return Math.log(1 + (this.docs.length - df + 0.5) / (df + 0.5))
  }

  /** Documents ranked by relevance to the query, best first; those that match nothing are left out. */
  search(query: string, accept: (id: string) => boolean = () => true): { id: string; score: number }[] {
    const weights = new Map<string, number>()
    for (const term of tokenize(query)) {
      weights.set(term, Math.max(weights.get(term) ?? 0, 1))
      for (const synonym of SYNONYMS.get(term) ?? []) weights.set(synonym, Math.max(weights.get(synonym) ?? 0, 0.5))
    }
    const terms = [...weights].filter(([term]) => this.df.has(term)).map(([term, weight]) => ({ term, weight, idf: this.idf(term) }))
    const ranked: { id: string; score: number }[] = []
    if (!terms.length) return ranked
    for (const doc of this.docs) {
      let score = 0
      const norm = K1 * (1 - B + (B * doc.length) / this.avgLength)
      for (const { term, weight, idf } of terms) {
        const tf = doc.tf.get(term)
        if (tf) score += weight * idf * ((tf * (K1 + 1)) / (tf + norm))
      }
      if (score > 0 && accept(doc.id)) ranked.push({ id: doc.id, score })
    }
    return ranked.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
  }
}
