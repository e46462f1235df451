import { redact } from '../errors.js'

/** The last failed call of an upstream: what it said (redacted, at most 500 characters) and when (ISO time). */
export interface LastCallError {
  message: string
  at: string
}

/** How much of a failure's text is kept: enough to read, and constant memory however large the upstream's answer. */
const KEPT_RAW = 4096
const KEPT_MESSAGE = 500

/**
 * Calls, errors, the median latency and the last error of one upstream since the gateway started, in
 * constant memory: latencies go into buckets 5% wide, so the median is exact to within 5% however many
 * calls there were. Shared by `/health` (what `airmcp status` prints) and anything else that reports
 * per-server figures.
 */
export class CallStats {
  calls = 0
  errors = 0
  private readonly buckets = new Map<number, number>()
  private lastError: { message: string; at: number } | undefined

  /** One finished call: how long it took, and whether it failed (an error or an `isError` result). */
  record(milliseconds: number, failed: boolean): void {
    this.calls++
    if (failed) this.errors++
    const bucket = milliseconds <= 1 ? 0 : Math.ceil(Math.log(milliseconds) / Math.log(1.05))
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1)
  }

  /** An answered call: failed when the result has `isError`, whose text becomes the last error. */
  recordResult(milliseconds: number, result: unknown, secrets: string[]): void {
    const failed = isErrorResult(result)
    this.record(milliseconds, failed)
    if (failed) this.keepError(textOf(result), secrets)
  }

  /** A call that threw (the upstream's error, a timeout, a lost connection): its message becomes the last error. */
  recordError(milliseconds: number, error: unknown, secrets: string[]): void {
    this.record(milliseconds, true)
    this.keepError(error instanceof Error ? error.message : String(error), secrets)
  }

  private keepError(text: string, secrets: string[]): void {
    // Redacted before it is cut, so no secret survives in part.
    this.lastError = { message: redact(text.slice(0, KEPT_RAW), secrets).slice(0, KEPT_MESSAGE), at: Date.now() }
  }

  /** The median latency in ms (the upper bound of its bucket), undefined before the first call. */
  median(): number | undefined {
    if (this.calls === 0) return undefined
    let seen = 0
    for (const bucket of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(bucket)!
      if (seen * 2 >= this.calls) return bucket === 0 ? 1 : Math.round(1.05 ** bucket * 10) / 10
    }
    return undefined
  }

  snapshot(): { calls: number; errors: number; medianMs: number | undefined; lastCallError: LastCallError | undefined } {
    const last = this.lastError
    return {
      calls: this.calls,
      errors: this.errors,
      medianMs: this.median(),
      lastCallError: last && { message: last.message, at: new Date(last.at).toISOString() },
    }
  }
}

/** True for a tool result that reports a failure (`isError: true`). */
export function isErrorResult(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { isError?: unknown }).isError === true
}

/** The text blocks of a tool result, one per line (what a user reads as its error). */
function textOf(result: unknown): string {
  const content = (result as { content?: unknown }).content
  if (!Array.isArray(content)) return ''
  return content
    .filter((block): block is { text: string } => typeof (block as { text?: unknown })?.text === 'string')
    .map((block) => block.text)
    .join('\n')
}
