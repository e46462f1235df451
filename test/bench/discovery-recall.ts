// Recall@k of search_tools on the labeled queries: shared by the recall test (in-process) and the benchmark.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../helpers/processes.js'

export interface LabeledQuery {
  query: string
  expected: string[]
}

export const LABELED_QUERIES: LabeledQuery[] = JSON.parse(
  readFileSync(join(ROOT, 'test/bench/discovery-queries.json'), 'utf8'),
).queries

/** The share of queries with at least one expected tool among the first k results, and the queries that missed. */
export async function recallAt(
  k: number,
  search: (query: string, limit: number) => Promise<string[]> | string[],
): Promise<{ recall: number; misses: { query: string; expected: string[]; got: string[] }[] }> {
  const misses: { query: string; expected: string[]; got: string[] }[] = []
  for (const { query, expected } of LABELED_QUERIES) {
    const got = await search(query, k)
    if (!expected.some((name) => got.slice(0, k).includes(name))) misses.push({ query, expected, got })
  }
  return { recall: (LABELED_QUERIES.length - misses.length) / LABELED_QUERIES.length, misses }
}
