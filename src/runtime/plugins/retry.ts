import type { Plugin } from '../plugin.js'

export interface RetryOptions {
  /** Extra attempts after the first (default 2). */
  retries?: number
  /** Wait before the first retry, doubled each time (default 100 ms). */
  delayMs?: number
  /** Which thrown errors are worth another attempt (default: all). */
  retryOn?: (error: unknown) => boolean
}

/**
 * Calls the handler again when it throws, with exponential backoff; a cancelled call is not retried.
 * @example
 * use: [retryPlugin({ retries: 3 })]
 */
export function retryPlugin(options: RetryOptions = {}): Plugin {
  const retries = options.retries ?? 2
  const delayMs = options.delayMs ?? 100
  return {
    name: 'retry',
    async onCall(call, next) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await next()
        } catch (error) {
          const retryable = options.retryOn ? options.retryOn(error) : true
          if (attempt >= retries || !retryable || call.context.signal.aborted) throw error
          await new Promise((resolve) => setTimeout(resolve, delayMs * 2 ** attempt))
        }
      }
    },
  }
}
