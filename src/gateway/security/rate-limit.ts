import { RATE_LIMITED } from '../../protocol/codes.js'
import { GatewayError } from '../errors.js'

/** Requests a principal may make: `perMinute` on average, up to `burst` at once (default: `perMinute`). */
export interface RateLimit {
  perMinute: number
  burst?: number
}

/** Most buckets kept per replica; past it the least recently used one is dropped (it starts full again). */
export const MAX_BUCKETS = 10_000

/** Refuses a malformed `rateLimit` (an unset environment variable read as NaN, a zero rate). */
export function checkRateLimit(where: string, limit: unknown, allowOff = false): void {
  if (limit === undefined || (allowOff && limit === false)) return
  const { perMinute, burst, ...rest } = (limit ?? {}) as Partial<RateLimit>
  const positive = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n > 0
  if (typeof limit !== 'object' || limit === null || !positive(perMinute) || (burst !== undefined && !(positive(burst) && burst >= 1)) || Object.keys(rest).length) {
    throw new TypeError(
      `${where} must be { perMinute, burst? } with positive numbers${allowOff ? ', or false' : ''}. Try this: ${where}: { perMinute: 600, burst: 60 }.`,
    )
  }
}

interface Bucket {
  tokens: number
  /** performance.now() of the last refill. */
  at: number
  limit: RateLimit
}

const capacityOf = (limit: RateLimit) => limit.burst ?? limit.perMinute
const perMsOf = (limit: RateLimit) => limit.perMinute / 60_000
/** The bucket's tokens at `now`, refilled since its last use and capped at its capacity. */
const tokensAt = (bucket: Bucket, now: number) => Math.min(capacityOf(bucket.limit), bucket.tokens + (now - bucket.at) * perMsOf(bucket.limit))

/**
 * Token buckets per principal, in this replica's memory: each holds up to `burst` tokens and refills at
 * `perMinute`; a request takes one. A bucket idle long enough to be full again is worth nothing and goes
 * first; the map never holds more than MAX_BUCKETS.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    /** The limit of a principal whose client sets none (undefined: unlimited). */
    private readonly defaultLimit: RateLimit | undefined,
    /** Per client name: its own limit, or false for none. */
    private readonly perClient: ReadonlyMap<string, RateLimit | false>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when some principal can be limited: otherwise the gateway skips the limiter entirely. */
  get active(): boolean {
    return this.defaultLimit !== undefined || [...this.perClient.values()].some(Boolean)
  }

  /** The limit that applies to a principal (by its client's name). */
  limitOf(name: string): RateLimit | undefined {
    const own = this.perClient.get(name)
    return own === false ? undefined : (own ?? this.defaultLimit)
  }

  /** Takes one token of `key`'s bucket: 0 when the request may go, else the milliseconds until it may. */
  take(key: string, limit: RateLimit): number {
    const now = this.now()
    let bucket = this.buckets.get(key)
    if (bucket) {
      // Re-inserted below: the map's order is least recently used first.
      this.buckets.delete(key)
      bucket.tokens = tokensAt(bucket, now)
      bucket.at = now
      bucket.limit = limit
    } else {
      this.evictOldest(now)
      bucket = { tokens: capacityOf(limit), at: now, limit }
    }
    this.buckets.set(key, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil((1 - bucket.tokens) / perMsOf(limit))
  }

  /** Drops the least recently used bucket when it is full again (idle) or the map is: one look per new bucket. */
  private evictOldest(now: number): void {
    const oldest = this.buckets.entries().next().value
    if (oldest && (this.buckets.size >= MAX_BUCKETS || tokensAt(oldest[1], now) >= capacityOf(oldest[1].limit))) {
      this.buckets.delete(oldest[0])
    }
  }

  /** Buckets held now (tests, /health). */
  get size(): number {
    return this.buckets.size
  }
}

/** The error past the limit: who, and when to retry (`data.retryAfterMs`). */
export function rateLimited(name: string, retryAfterMs: number): GatewayError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new GatewayError(RATE_LIMITED, `Rate limit for ${name} reached. Try this: retry after ${seconds} s.`, { retryAfterMs })
}
