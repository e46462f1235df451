import { describe, expect, it } from 'vitest'
import { buildRoutes } from 'airmcp/gateway'
import { createBalancer } from '../../dist/gateway/routing/balancer.js'

describe('exposed names', () => {
  it('keeps unique names, prefixes clashing ones with their pool, and makes every name valid', () => {
    const routes = buildRoutes(
      new Map([
        ['search', ['search', 'status', 'has.dot']],
        ['files', ['read_file', 'status']],
        ['a-very-long-pool-name-that-goes-on-and-on', ['x'.repeat(40), 'status']],
      ]),
    )
    expect(routes.get('search')).toEqual({ pool: 'search', name: 'search' })
    expect(routes.get('has_dot')).toEqual({ pool: 'search', name: 'has.dot' })
    expect(routes.get('search__status')).toEqual({ pool: 'search', name: 'status' })
    expect(routes.get('files__status')).toEqual({ pool: 'files', name: 'status' })
    expect(routes.has('status')).toBe(false)
    const long = [...routes].find(([, r]) => r.pool.startsWith('a-very') && r.name === 'status')![0]
    expect(long).toMatch(/^a-very-long-pool-name-that-goes-on-and-on__status$/)
    for (const name of routes.keys()) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/)
    expect(routes.size).toBe(7)
  })

  it('cuts names over 64 characters with a hash and never drops a tool', () => {
    const routes = buildRoutes(new Map([['p', ['y'.repeat(70), `${'y'.repeat(70)}.`]]]))
    expect(routes.size).toBe(2)
    for (const name of routes.keys()) expect(name.length).toBeLessThanOrEqual(64)
  })

  it("never gives one pool a name under another pool's prefix (issue 28 item 7)", () => {
    const routes = buildRoutes(new Map([['bad', ['echo', 'good__echo', 'good__other']], ['good', ['echo']]]))
    expect(routes.get('good__echo')).toEqual({ pool: 'good', name: 'echo' })
    expect(routes.get('bad__echo')).toEqual({ pool: 'bad', name: 'echo' })
    expect(routes.get('bad__good__echo')).toEqual({ pool: 'bad', name: 'good__echo' })
    // Reserved even when the good pool offers no such tool.
    expect(routes.get('bad__good__other')).toEqual({ pool: 'bad', name: 'good__other' })
    // A pool whose name starts with `__` owns its prefix too.
    expect(buildRoutes(new Map([['b', ['__a__x']], ['__a', []]])).get('b____a__x')).toEqual({ pool: 'b', name: '__a__x' })
    expect(routes.size).toBe(4)
  })

  it('keeps a pool\'s names when another pool adds names that coincide with them once numbered', () => {
    const good = ['x_2', 'x_3', 'files']
    const before = buildRoutes(new Map([['good', good]]))
    // `a` and `a.` coincide (a_) in one pool: numbering them must not take good's x_2 or x_3.
    const after = buildRoutes(new Map([['bad', ['x.', 'x!', 'x?']], ['good', good]]))
    for (const [name, route] of before) expect(after.get(name)).toEqual(route)
    expect([...after].filter(([, route]) => route.pool === 'bad').map(([name]) => name).sort()).toEqual(['x_', 'x_4', 'x_5'])
  })

  it('refuses empty and control-character names', () => {
    const routes = buildRoutes(new Map([['p', ['', 'bell\u0007', 'tab\tname', 'ok']]]))
    expect([...routes.keys()]).toEqual(['ok'])
  })

  it('gives a nested pool name (a and a__b) its own names', () => {
    const routes = buildRoutes(new Map([['a', ['b__x', 'y']], ['a__b', ['x', 'y']], ['c', ['b__x', 'x']]]))
    expect(routes.get('a__b__x')).toEqual({ pool: 'a__b', name: 'x' })
    expect(routes.get('c__b__x')).toEqual({ pool: 'c', name: 'b__x' })
    expect(routes.get('a__y')).toEqual({ pool: 'a', name: 'y' })
    expect(routes.get('a__b__y')).toEqual({ pool: 'a__b', name: 'y' })
    const aOwn = [...routes].find(([, route]) => route.pool === 'a' && route.name === 'b__x')![0]
    expect(aOwn).toMatch(/^a__[0-9a-f]{8}$/)
    expect(routes.size).toBe(6)
  })

  it('names 4,000 coinciding names in each of two pools, every one distinct and routed back (linear numbering)', () => {
    const names = Array.from({ length: 4000 }, (_, i) => `n${String.fromCharCode(0x4e00 + i)}`)
    const routes = buildRoutes(new Map([['one', names], ['two', names]]))
    expect(routes.size).toBe(8000)
    for (const pool of ['one', 'two']) {
      const mine = [...routes].filter(([, route]) => route.pool === pool)
      expect(new Set(mine.map(([, route]) => route.name))).toEqual(new Set(names))
      expect(mine.map(([name]) => name)).toContain(`${pool}__n_4000`)
      for (const [name] of mine) expect(name).toMatch(new RegExp(`^${pool}__n_\\d*$`))
    }
  })
})

describe('balancers', () => {
  const members = () => [{ id: 'a', inflight: 0 }, { id: 'b', inflight: 0 }, { id: 'c', inflight: 0 }]

  it('round-robin keeps one counter per pool', () => {
    const pick = createBalancer('round-robin')
    const m = members()
    expect([pick('x', m), pick('x', m), pick('y', m), pick('x', m)].map((p) => p!.id)).toEqual(['a', 'b', 'a', 'c'])
  })

  it('least-connections picks the member with the fewest calls in flight', () => {
    const pick = createBalancer('least-connections')
    const m = members()
    m[0].inflight = 3
    m[1].inflight = 1
    m[2].inflight = 2
    expect(pick('x', m)!.id).toBe('b')
  })

  it('random stays within the pool', () => {
    const pick = createBalancer('random')
    const m = members()
    const seen = new Set(Array.from({ length: 200 }, () => pick('x', m)!.id))
    expect([...seen].every((id) => ['a', 'b', 'c'].includes(id))).toBe(true)
    expect(seen.size).toBeGreaterThan(1)
  })
})
