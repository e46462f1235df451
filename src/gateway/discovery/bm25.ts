/**
 * A small BM25F ranker for tool search: local, no network, no dependency. Fields are weighted (a word in
 * a tool's name counts more than one in a parameter's description), words are split at case changes,
 * digits and punctuation and reduced by a light suffix stemmer. It has no synonym table: one written by
 * hand ends up mirroring the queries it was checked on. A general thesaurus (WordNet) and word vectors
 * (GloVe) were measured as query expansion and did not help on queries nobody had tuned for.
 */

const STOPWORDS = new Set(
  (
    'a an and are as at be by can could do does for from get give how i if in into is it its me my of on or our ' +
    'please should so some that the their them then there these this those to us use using want was we what ' +
    'when where which who will with would you your all any'
  ).split(' '),
)

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
    const terms = [...new Set(tokenize(query))].filter((term) => this.df.has(term)).map((term) => ({ term, idf: this.idf(term) }))
    const ranked: { id: string; score: number }[] = []
    if (!terms.length) return ranked
    for (const doc of this.docs) {
      let score = 0
      const norm = K1 * (1 - B + (B * doc.length) / this.avgLength)
      for (const { term, idf } of terms) {
        const tf = doc.tf.get(term)
        if (tf) score += idf * ((tf * (K1 + 1)) / (tf + norm))
      }
      if (score > 0 && accept(doc.id)) ranked.push({ id: doc.id, score })
    }
    return ranked.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
  }
}
