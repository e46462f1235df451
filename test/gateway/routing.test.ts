import { describe, expect, it } from 'vitest'
import { buildRoutes } from 'airmcp/gateway'
import { createBalancer } from '../../dist/gateway/balancer.js'

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
