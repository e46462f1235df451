import type { Plugin } from '../plugin.js'

export interface LoggerOptions {
  /** One JSON object per line instead of text. */
  json?: boolean
  /** Where lines go (default stderr: stdout belongs to the stdio transport). */
  write?: (line: string) => void
}

/**
 * Logs each tool call with its duration and outcome to stderr.
 * @example
 * use: [loggerPlugin({ json: true })]
 */
export function loggerPlugin(options: LoggerOptions = {}): Plugin {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  return {
    name: 'logger',
    async onCall(call, next) {
      const started = performance.now()
      const report = (outcome: 'ok' | 'error', message?: string) => {
        const ms = Math.round((performance.now() - started) * 10) / 10
        write(
          options.json
            ? JSON.stringify({ tool: call.tool.name, ms, outcome, session: call.context.sessionId, message })
            : `[airmcp] ${call.tool.name} ${outcome} ${ms}ms${message ? ` ${message}` : ''}`,
        )
      }
      try {
        const result = await next()
        report(result.isError ? 'error' : 'ok')
        return result
      } catch (error) {
        report('error', error instanceof Error ? error.message : String(error))
        throw error
      }
    },
  }
}
