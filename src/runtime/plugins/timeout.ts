import type { Plugin } from '../plugin.js'

/**
 * Fails a call that takes longer than `ms`: the handler's `signal` is aborted and the caller gets an error.
 * @example
 * use: [timeoutPlugin(5_000)]
 */
export function timeoutPlugin(ms: number): Plugin {
  return {
    name: 'timeout',
    async onCall(call, next) {
      const controller = new AbortController()
      const signal = AbortSignal.any([call.context.signal, controller.signal])
      let timer: NodeJS.Timeout | undefined
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new Error(`Tool "${call.tool.name}" timed out after ${ms} ms`)
          controller.abort(error)
          reject(error)
        }, ms)
      })
      try {
        return await Promise.race([next({ ...call, context: { ...call.context, signal } }), expired])
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
