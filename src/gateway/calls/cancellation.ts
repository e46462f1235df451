import type { RequestOptions } from '@modelcontextprotocol/client'

/**
 * One call's cancellation, without an AbortController until something asks for a real AbortSignal.
 * Creating a controller (an EventTarget) for every call and listening on its signal cost more per call
 * than routing it; the gateway's own hot path listens with `onAbort` instead, and `signal` is made on
 * demand (an SDK API, AbortSignal.any), already aborted if the call was.
 */
export class Cancellation {
  aborted = false
  reason: unknown
  private controller: AbortController | undefined
  private listeners: ((reason: unknown) => void)[] | undefined

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController()
      if (this.aborted) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  abort(reason?: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError')
    const listeners = this.listeners
    this.listeners = undefined
    for (const listener of listeners ?? []) listener(this.reason)
    this.controller?.abort(this.reason)
  }

  /** Calls `listener` once, when the call is cancelled; returns what stops listening. */
  onAbort(listener: (reason: unknown) => void): () => void {
    ;(this.listeners ??= []).push(listener)
    return () => {
      const at = this.listeners?.indexOf(listener) ?? -1
      if (at >= 0) this.listeners!.splice(at, 1)
    }
  }
}

/** Where a request's cancellation comes from: an AbortSignal, or (the gateway's hot path) a Cancellation. */
export interface CancelSource {
  signal?: AbortSignal
  cancellation?: Cancellation
}

/** What a forwarded request is sent with: the SDK's options, with a Cancellation in place of `signal` on the direct path. */
export type ForwardOptions = RequestOptions & CancelSource

/** Listens for the cancellation of a request, whichever way it comes; returns what stops listening. */
export function onCancel(source: CancelSource, listener: (reason: unknown) => void): (() => void) | undefined {
  const { signal, cancellation } = source
  if (signal) {
    const onAbort = () => listener(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    return () => signal.removeEventListener('abort', onAbort)
  }
  return cancellation?.onAbort(listener)
}

/** Whether a request was already cancelled, and why. */
export function cancelledBy(source: CancelSource): { reason: unknown } | undefined {
  if (source.signal) return source.signal.aborted ? { reason: source.signal.reason } : undefined
  return source.cancellation?.aborted ? { reason: source.cancellation.reason } : undefined
}
