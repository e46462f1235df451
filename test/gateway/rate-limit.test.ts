import { describe, expect, it } from 'vitest'
import { MAX_BUCKETS, RateLimiter, rateLimited } from '../../src/gateway/security/rate-limit.js'

/** A limiter on a clock the test moves. */
function limiter(limits: { default?: { perMinute: number; burst?: number }; clients?: [string, { perMinute: number; burst?: number } | false][] }) {
  const clock = { now: 0 }
  const rl = new RateLimiter(limits.default, new Map(limits.clients ?? []), () => clock.now)
  return { rl, clock }
}

describe('token buckets per principal', () => {
  it('lets a burst through, then one request per refill, and says how long to wait', () => {
    const { rl, clock } = limiter({ default: { perMinute: 60, burst: 2 } })
    const limit = rl.limitOf('alice')!
    expect([rl.take('alice', limit), rl.take('alice', limit)]).toEqual([0, 0])
    expect(rl.take('alice', limit)).toBe(1000)
    clock.now = 400
    expect(rl.take('alice', limit)).toBe(600)
    clock.now = 1000
    expect(rl.take('alice', limit)).toBe(0)
    // Another principal has its own bucket.
    expect(rl.take('bob', limit)).toBe(0)
  })

  it("takes a client's own limit over the gateway's, and none for rateLimit: false", () => {
    const { rl } = limiter({ default: { perMinute: 60 }, clients: [['ci', { perMinute: 5, burst: 1 }], ['ops', false]] })
    expect(rl.limitOf('ci')).toEqual({ perMinute: 5, burst: 1 })
    expect(rl.limitOf('ops')).toBeUndefined()
    expect(rl.limitOf('someone')).toEqual({ perMinute: 60 })
    expect(limiter({ clients: [['ops', false]] }).rl.active).toBe(false)
  })

  it('drops idle buckets and never holds more than MAX_BUCKETS', () => {
    const { rl, clock } = limiter({ default: { perMinute: 60, burst: 1 } })
    const limit = rl.limitOf('x')!
    rl.take('idle', limit)
    clock.now = 1000
    // The idle bucket is full again: the next new principal's bucket replaces it.
    rl.take('fresh', limit)
    expect(rl.size).toBe(1)
    for (let i = 0; i < MAX_BUCKETS + 500; i++) rl.take(`p${i}`, limit)
    expect(rl.size).toBe(MAX_BUCKETS)
  })

  it('words the error with the name and the wait', () => {
    const error = rateLimited('carol', 1500)
    expect(error).toMatchObject({ code: -32030, message: 'Rate limit for carol reached. Try this: retry after 2 s.', data: { retryAfterMs: 1500 } })
  })
})
