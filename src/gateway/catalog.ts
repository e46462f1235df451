import { createHash } from 'node:crypto'

/** Where an exposed name leads: the pool that serves it and the name the server knows it by. */
export interface Route {
  pool: string
  name: string
}

const MAX_NAME = 64

function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, '_')
}

/** Fits a name into MCP's 64-character limit, keeping it unique with a short hash when cut. */
function fit(name: string): string {
  if (name.length <= MAX_NAME) return name
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8)
  return `${name.slice(0, MAX_NAME - 9)}_${hash}`
}

/**
 * Exposes the names of many pools as one list. A name offered by one pool keeps its name; a name offered
 * by several pools is exposed once per pool as `<pool>__<name>`. Characters outside `[a-zA-Z0-9_-]` become
 * `_`, and names over 64 characters are cut with a hash suffix. The rule depends only on the pools' names
 * and items, so every gateway replica exposes the same names.
 */
export function buildRoutes(byPool: Map<string, string[]>): Map<string, Route> {
  const owners = new Map<string, string[]>()
  for (const [pool, names] of byPool) {
    for (const name of new Set(names)) owners.set(name, [...(owners.get(name) ?? []), pool])
  }
  const routes = new Map<string, Route>()
  const pools = [...byPool.keys()].sort()
  for (const pool of pools) {
    for (const name of new Set(byPool.get(pool))) {
      const clashes = owners.get(name)!.length > 1
      let exposed = fit(clashes ? `${sanitize(pool)}__${sanitize(name)}` : sanitize(name))
      // Sanitizing can make two names equal: number the later one rather than drop it.
      for (let n = 2; routes.has(exposed); n++) exposed = fit(`${exposed}_${n}`)
      routes.set(exposed, { pool, name })
    }
  }
  return routes
}
