import type { Plugin } from '../plugin.js'

export interface RateLimitOptions {
  /** Calls allowed per window. */
  limit: number
  /** Window length (default 60 s). */
  windowMs?: number
  /** Count per client session or for the whole server (default 'session'). */
  per?: 'session' | 'server'
}

/**
 * Fixed windows per key. Windows that have ended are swept at most once per window length, so the map
 * holds only the keys seen in the last two windows, however many sessions come and go.
 */
export class RateWindows {
  private readonly windows = new Map<string, { start: number; count: number }>()
  private lastSweep: number

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastSweep = now()
  }

  /** Counts a call for `key`; returns the seconds to wait when it is over the limit, else undefined. */
  hit(key: string): number | undefined {
    const now = this.now()
    if (now - this.lastSweep >= this.windowMs) this.sweep(now)
    let window = this.windows.get(key)
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, count: 0 }
      this.windows.set(key, window)
    }
    if (++window.count <= this.limit) return undefined
    return Math.ceil((window.start + this.windowMs - now) / 1000)
  }

  /** How many keys are tracked now. */
  get size(): number {
    return this.windows.size
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(key)
    this.lastSweep = now
  }
}

/**
 * Refuses calls past `limit` per window with an error the caller sees; windows are fixed.
 * @example
 * use: [rateLimitPlugin({ limit: 60, windowMs: 60_000 })]
 */
export function rateLimitPlugin(options: RateLimitOptions): Plugin {
  const windows = new RateWindows(options.limit, options.windowMs ?? 60_000)
  return {
    name: 'rate-limit',
    async onCall(call, next) {
      const key = options.per === 'server' ? '*' : (call.context.sessionId ?? '*')
      const retryIn = windows.hit(key)
      if (retryIn !== undefined) {
        throw new Error(`Rate limit of ${options.limit} calls per ${windows.windowMs} ms exceeded. Retry in ${retryIn} s.`)
      }
      return next()
    },
  }
}
