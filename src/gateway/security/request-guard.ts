import type { Principal } from '../../http/principal.js'
import { outcomeOf } from '../../telemetry/calls.js'
import { traceIdOf, type AuditLog } from './audit.js'
import type { AuditNote, Cancellation } from '../calls/index.js'
import { rateLimited, type RateLimiter } from './rate-limit.js'

type Params = Record<string, unknown>

/** The principal of a request with no named client: no token at all on the front. */
export const ANONYMOUS: Principal = { name: 'anonymous', scopes: [], claims: {} }

/** What the guard reads of a caller (the router's Caller has all of it). */
export interface GuardedCaller {
  signal: { readonly aborted: boolean }
  cancellation?: Cancellation
  requestId?: string | number
  sessionId?: string
  meta?: Params
  headers?: Params
  /** Filled by the router while serving, when the request is audited. */
  audit?: AuditNote
}

/** One request a client asked to be forwarded, as the guard sees it. */
export interface GuardedRequest {
  method: string
  /** The exposed tool or prompt name, the resource URI, or the completion's ref. */
  name: string
  params: Params
  principal: Principal
  /** False when the client's policy refuses the name. */
  allowed: boolean
}

/**
 * Every forwarded request passes here, in both eras and on every front: the principal's rate limit first
 * (so a refused name costs a token too), then its policy, then the audit line once it settled.
 */
export class RequestGuard {
  constructor(
    readonly audit: AuditLog | undefined,
    readonly limiter: RateLimiter | undefined,
  ) {}

  /** `refuse` throws what a refused name gets; `forward` serves the request. */
  run(request: GuardedRequest, caller: GuardedCaller, refuse: () => unknown, forward: () => unknown): unknown {
    const started = performance.now()
    const { principal } = request
    const limit = this.limiter?.limitOf(principal.name)
    const waitMs = limit ? this.limiter!.take(principal.sub === undefined ? principal.name : `${principal.name}\n${principal.sub}`, limit) : 0
    if (waitMs > 0) {
      this.record(request, caller, started, 'rate_limited')
      throw rateLimited(principal.name, waitMs)
    }
    if (!request.allowed) {
      this.record(request, caller, started, 'denied')
      return refuse()
    }
    if (!this.audit) return forward()
    caller.audit = {}
    let pending: unknown
    try {
      pending = forward()
    } catch (error) {
      this.settled(request, caller, started, undefined, error)
      throw error
    }
    return Promise.resolve(pending).then(
      (result) => (this.settled(request, caller, started, result, undefined), result),
      (error: unknown) => {
        this.settled(request, caller, started, undefined, error)
        throw error
      },
    )
  }

  private settled(request: GuardedRequest, caller: GuardedCaller, started: number, result: unknown, error: unknown): void {
    const outcome = outcomeOf(result, error, caller.cancellation ?? caller.signal)
    const code = (error as { code?: unknown } | undefined)?.code
    this.record(request, caller, started, outcome === 'ok' ? 'ok' : 'error', outcome === 'ok' ? undefined : outcome, typeof code === 'number' ? code : undefined)
  }

  private record(
    request: GuardedRequest,
    caller: GuardedCaller,
    started: number,
    outcome: 'ok' | 'error' | 'denied' | 'rate_limited',
    error?: string,
    errorCode?: number,
  ): void {
    if (!this.audit) return
    const meta = request.params._meta as Params | undefined
    this.audit.record({
      principal: request.principal,
      method: request.method,
      name: request.name,
      outcome,
      error,
      errorCode,
      durationMs: performance.now() - started,
      note: caller.audit,
      requestId: caller.requestId,
      sessionId: caller.sessionId,
      traceId: traceIdOf(meta, caller.meta, caller.headers),
      arguments: this.audit.withArguments ? (request.params.arguments ?? request.params.argument) : undefined,
    })
  }
}
