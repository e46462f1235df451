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
 * Refuses calls past `limit` per window with an error the caller sees; windows are fixed.
 * @example
 * use: [rateLimitPlugin({ limit: 60, windowMs: 60_000 })]
 */
export function rateLimitPlugin(options: RateLimitOptions): Plugin {
  const windowMs = options.windowMs ?? 60_000
  const windows = new Map<string, { start: number; count: number }>()
  return {
    name: 'rate-limit',
    async onCall(call, next) {
      const key = options.per === 'server' ? '*' : (call.context.sessionId ?? '*')
      const now = Date.now()
      let window = windows.get(key)
      if (!window || now - window.start >= windowMs) {
        window = { start: now, count: 0 }
        windows.set(key, window)
      }
      if (++window.count > options.limit) {
        const retryIn = Math.ceil((window.start + windowMs - now) / 1000)
        throw new Error(`Rate limit of ${options.limit} calls per ${windowMs} ms exceeded. Retry in ${retryIn} s.`)
      }
      return next()
    },
  }
}
