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

function shortHash(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 8)
}

/** Fits a name into MCP's 64-character limit, keeping it unique with a short hash when cut. */
function fit(name: string): string {
  if (name.length <= MAX_NAME) return name
  return `${name.slice(0, MAX_NAME - 9)}_${shortHash(name)}`
}

/** Why a tool or prompt name taken from an upstream cannot be exposed (empty, control characters), if it cannot. */
export function refusedName(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'it has no name'
  if (/\p{Cc}/u.test(name)) return 'its name has control characters'
  return undefined
}

/**
 * Exposes the names of many pools as one list, so that no pool can take a name another pool owns:
 * - Characters outside `[a-zA-Z0-9_-]` become `_`; names over 64 characters are cut with a hash suffix.
 * - A name offered by one pool only keeps its name; a name offered by several pools is exposed once per
 *   pool as `<pool>__<name>`.
 * - `<pool>__…` belongs to that pool (the longest such pool name when pool names nest): an item of another
 *   pool that would be exposed under it is exposed under its own prefix instead (`bad` offering
 *   `good__echo` gets `bad__good__echo`). When even that belongs to a pool with a longer name, it is
 *   `<pool>__<hash of the name>`.
 * - Names that still coincide (`a.b` and `a_b` in one pool) are numbered `_2`, `_3`… after every other name
 *   is given out, so a numbered name never takes the name of another item.
 * - Empty names and names with control characters are refused (the gateway drops them when it reads a list).
 * The rule depends only on the pools' names and items, so every gateway replica exposes the same names,
 * and a pool's names do not move when another pool's list changes unless that pool offers the same name
 * (a numbered name gives way to any other item's own name).
 * The work is linear in the number of names.
 */
export function buildRoutes(byPool: Map<string, string[]>): Map<string, Route> {
  const pools = [...byPool.keys()].sort()
  const prefixes = new Map<string, Set<string>>()
  for (const pool of pools) prefixes.set(sanitize(pool), (prefixes.get(sanitize(pool)) ?? new Set()).add(pool))
  const mayTake = (pool: string, exposed: string): boolean => {
    let owners: Set<string> | undefined
    for (let at = exposed.indexOf('__', 1); at > 0; at = exposed.indexOf('__', at + 1)) owners = prefixes.get(exposed.slice(0, at)) ?? owners
    return !owners || owners.has(pool)
  }
  const namesOf = (pool: string) => [...new Set(byPool.get(pool))].filter((name) => !refusedName(name))
  const poolsOffering = new Map<string, number>()
  for (const pool of pools) {
    for (const name of new Set(namesOf(pool).map(sanitize))) poolsOffering.set(name, (poolsOffering.get(name) ?? 0) + 1)
  }
  const routes = new Map<string, Route>()
  const coinciding: [string, Route][] = []
  for (const pool of pools) {
    for (const name of namesOf(pool)) {
      const clean = sanitize(name)
      let exposed = fit(clean)
      if (poolsOffering.get(clean)! > 1 || !mayTake(pool, exposed)) exposed = fit(`${sanitize(pool)}__${clean}`)
      if (!mayTake(pool, exposed)) exposed = fit(`${sanitize(pool)}__${shortHash(name)}`)
      if (routes.has(exposed)) coinciding.push([exposed, { pool, name }])
      else routes.set(exposed, { pool, name })
    }
  }
  // One counter per name, so numbering many coinciding names stays linear.
  const nextNumber = new Map<string, number>()
  for (const [base, route] of coinciding) {
    const stem = base.endsWith('_') ? base : `${base}_`
    let n = nextNumber.get(base) ?? 2
    let exposed: string
    do exposed = fit(`${stem}${n++}`)
    while (routes.has(exposed))
    nextNumber.set(base, n)
    routes.set(exposed, route)
  }
  return routes
}
