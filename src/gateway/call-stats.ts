/**
 * Calls, errors and the median latency of one upstream since the gateway started, in constant memory:
 * latencies go into buckets 5% wide, so the median is exact to within 5% however many calls there were.
 * Shared by `/health` (what `airmcp status` prints) and anything else that reports per-server figures.
 */
export class CallStats {
  calls = 0
  errors = 0
  private readonly buckets = new Map<number, number>()

  /** One finished call: how long it took, and whether it failed (an error or an `isError` result). */
  record(milliseconds: number, failed: boolean): void {
    this.calls++
    if (failed) this.errors++
    const bucket = milliseconds <= 1 ? 0 : Math.ceil(Math.log(milliseconds) / Math.log(1.05))
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1)
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

  snapshot(): { calls: number; errors: number; medianMs: number | undefined } {
    return { calls: this.calls, errors: this.errors, medianMs: this.median() }
  }
}

/** True for a tool result that reports a failure (`isError: true`). */
export function isErrorResult(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { isError?: unknown }).isError === true
}
