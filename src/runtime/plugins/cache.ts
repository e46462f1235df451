import type { Plugin } from '../plugin.js'
import type { ToolResult } from '../tool.js'

export interface CacheOptions {
  /** How long a result stays fresh. */
  ttlMs: number
  /** Tools never cached (e.g. ones with side effects). */
  exclude?: string[]
  /** Oldest entries are dropped past this many (default 1000). */
  maxEntries?: number
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` share a cache entry. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined'
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`
}

/**
 * Caches successful tool results by tool name and arguments for `ttlMs`; errors are never cached.
 * @example
 * use: [cachePlugin({ ttlMs: 30_000, exclude: ['search_reindex'] })]
 */
export function cachePlugin(options: CacheOptions): Plugin {
  const excluded = new Set(options.exclude ?? [])
  const maxEntries = options.maxEntries ?? 1000
  const entries = new Map<string, { expires: number; result: ToolResult }>()
  return {
    name: 'cache',
    async onCall(call, next) {
      if (excluded.has(call.tool.name)) return next()
      const key = `${call.tool.name}\u0000${stableStringify(call.args)}`
      const hit = entries.get(key)
      if (hit && hit.expires > Date.now()) return structuredClone(hit.result)
      entries.delete(key)
      const result = await next()
      if (!result.isError) {
        entries.set(key, { expires: Date.now() + options.ttlMs, result: structuredClone(result) })
        // Map keeps insertion order: the first key is the oldest.
        while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
      }
      return result
    },
  }
}
