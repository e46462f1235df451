import { log } from '../../telemetry/log.js'
import { refusedName } from '../names/index.js'
import { type GatewayLimits, jsonSize, TOO_DEEP, TOO_LARGE } from '../security/index.js'

/** The lists the gateway reads from an upstream. */
export type ListKey = 'tools' | 'resources' | 'resourceTemplates' | 'prompts'

/** How much of one upstream list the gateway takes (GatewayOptions of the same names). */
export type ListLimits = Pick<GatewayLimits, 'maxListItemDepth' | 'maxListItemBytes' | 'maxListPages' | 'maxListItems' | 'maxListBytes'>

/** The field that names an item of each list. */
const NAME_FIELD: Record<ListKey, string> = { tools: 'name', prompts: 'name', resources: 'uri', resourceTemplates: 'uriTemplate' }

/** Dropped items named one by one per listing; the rest are counted in one line. */
const NAMED_DROPS = 10
const OUT_OF_TIME = 'when its time ran out (connectTimeout)'

/** One page request: the cursor to send (none for the first page) and how long it may take. */
export type ListPageRequest = (cursor: string | undefined, timeout: number) => Promise<Record<string, unknown>>

/** What one list answered: its items that passed, and each page's cache hint. */
export interface ListRead {
  items: Record<string, unknown>[]
  hints: { ttlMs?: number; cacheScope?: 'public' | 'private' }[]
}

/** An item's size as JSON, or why it cannot be taken (its shape, name, depth or size). */
function inspect(item: unknown, key: ListKey, limits: ListLimits): { bytes: number } | { problem: string } {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return { problem: 'it is not an object' }
  const name = (item as Record<string, unknown>)[NAME_FIELD[key]]
  const refused =
    key === 'tools' || key === 'prompts' ? refusedName(name) : typeof name === 'string' && name ? undefined : `it has no ${NAME_FIELD[key]}`
  if (refused) return { problem: refused }
  const size = jsonSize(item, limits.maxListItemDepth, limits.maxListItemBytes)
  if (size === TOO_DEEP) return { problem: `it nests deeper than ${limits.maxListItemDepth} levels (maxListItemDepth)` }
  if (size === TOO_LARGE) return { problem: `it is larger than ${limits.maxListItemBytes} bytes (maxListItemBytes)` }
  return { bytes: size }
}

/** An item's name for a log line: quoted, cut short, control characters escaped. */
function labelOf(item: unknown, key: ListKey, index: number): string {
  const name = (item as Record<string, unknown> | null)?.[NAME_FIELD[key]]
  return typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : `#${index}`
}

/**
 * Reads every page of one upstream list within bounds: at most `maxListPages` pages, `maxListItems` items
 * and `maxListBytes`, before `deadline`; past a bound the items read so far are kept, with one warning. Each
 * item is checked before anything else looks at it (its name, depth and size, iteratively): one that fails
 * is dropped with a warning naming the upstream and the item, and the rest of the list stays. So nothing
 * later serializes or walks an upstream's item without a bound.
 */
export async function readList(upstream: string, method: string, key: ListKey, request: ListPageRequest, limits: ListLimits, deadline: number): Promise<ListRead> {
  const read: ListRead = { items: [], hints: [] }
  const warn = (message: string) => log('warn', `Upstream "${upstream}": ${message}`, { component: 'gateway', server: upstream })
  let bytes = 0
  let dropped = 0
  let seen = 0
  let cursor: string | undefined
  let stopped: string | undefined
  for (let pages = 0; ; pages++) {
    if (pages >= limits.maxListPages) stopped = `after ${pages} pages (maxListPages)`
    else if (Date.now() >= deadline) stopped = OUT_OF_TIME
    if (stopped) break
    let page: Record<string, unknown>
    try {
      page = await request(cursor, deadline - Date.now())
    } catch (error) {
      // A page that used up the listing's time ends the listing; a first page that fails fails it.
      if (pages === 0 || Date.now() < deadline) throw error
      stopped = OUT_OF_TIME
      break
    }
    read.hints.push({ ttlMs: page.ttlMs as number | undefined, cacheScope: page.cacheScope as 'public' | 'private' | undefined })
    for (const item of Array.isArray(page[key]) ? (page[key] as unknown[]) : []) {
      const verdict = inspect(item, key, limits)
      seen++
      if ('problem' in verdict) {
        if (dropped++ < NAMED_DROPS) warn(`dropped ${method} item ${labelOf(item, key, seen)}: ${verdict.problem}.`)
        continue
      }
      bytes += verdict.bytes
      if (read.items.length >= limits.maxListItems) stopped = `at ${limits.maxListItems} items (maxListItems)`
      else if (bytes > limits.maxListBytes) stopped = `at ${limits.maxListBytes} bytes (maxListBytes)`
      if (stopped) break
      read.items.push(item as Record<string, unknown>)
    }
    cursor = typeof page.nextCursor === 'string' ? page.nextCursor : undefined
    if (stopped || cursor === undefined) break
  }
  if (dropped > NAMED_DROPS) warn(`dropped ${dropped - NAMED_DROPS} more ${method} items.`)
  if (stopped) warn(`${method} stopped ${stopped}; keeping the ${read.items.length} items read.`)
  return read
}
