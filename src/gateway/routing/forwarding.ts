// The forwarding stage: one request to a pool within its session's share and its deadline, on a healthy member, with one failover; the upstream's progress and logs handed on before the result.
import { INTERNAL_ERROR, INVALID_REQUEST, REQUEST_TIMEOUT } from '../../protocol/codes.js'
import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client'
import { createBalancer } from './balancer.js'
import {
  type Caller,
  declares,
  type ForwardOptions,
  isCancelled,
  type LegacySession,
  type Message,
  ownerMark,
  releaseOwner,
  sessionOf,
} from '../calls/index.js'
import { classifyFailure, redact, UPSTREAM_BUSY, UpstreamBusyError, upstreamErrorText } from '../errors.js'
import { KeyedSemaphores, LIMIT_DEFAULTS } from '../security/index.js'
import { isTimeoutError, type OwnConnections, type Upstream } from '../upstreams/index.js'
import type { BalancerName } from '../types.js'

export interface ForwardingOptions {
  requestTimeout: number
  /** A request reporting progress is cut after this long in all (default 10 min). */
  maxRequestTotalMs?: number
  balancer: BalancerName
  maxConcurrentPerSession?: number
}

/** What forwarding reads of the rest of the router: a pool's members, client sessions' own connections, a session's roots. */
export interface ForwardingDeps {
  members(pool: string): Upstream[]
  own(): OwnConnections | undefined
  rootsOf(session: LegacySession): Promise<unknown>
}

/** A forwarded request's work on the member chosen for it. */
export type Run<T> = (upstream: Upstream, options: ForwardOptions) => Promise<T>

/** Forwards requests to pools, and knows which callers have requests in flight on each member. */
export class Forwarding {
  readonly pick: ReturnType<typeof createBalancer>
  private readonly sessionSlots: KeyedSemaphores
  private readonly callers = new WeakMap<Upstream, Caller[]>()
  /** The last notification about each caller's request handed to its client (its result goes after it). */
  private readonly told = new WeakMap<Caller, Promise<void>>()

  constructor(
    private readonly options: ForwardingOptions,
    private readonly deps: ForwardingDeps,
  ) {
    this.pick = createBalancer(options.balancer)
    this.sessionSlots = new KeyedSemaphores(options.maxConcurrentPerSession ?? LIMIT_DEFAULTS.maxConcurrentPerSession)
  }

  private get maxTotalMs(): number {
    return this.options.maxRequestTotalMs ?? LIMIT_DEFAULTS.maxRequestTotalMs
  }

  /** The callers with requests in flight on a member (or on a session's own connection). */
  callersOn(upstream: Upstream): readonly Caller[] {
    return this.callers.get(upstream) ?? []
  }

  forget(upstream: Upstream): void {
    this.callers.delete(upstream)
  }

  /** Tells a caller something about its request (progress, a log); its result waits until that is sent. */
  tell(caller: Caller, notification: Message): void {
    this.told.set(caller, caller.notify(notification).catch(() => {}))
  }

  /**
   * Forwards one request within its client session's share (`maxConcurrentPerSession`, queued past it) and
   * within `requestTimeout`, which also bounds the time spent waiting in a queue.
   */
  async forward<T>(pool: string, what: string, caller: Caller, run: Run<T>, pinned?: string): Promise<T> {
    const deadline = Date.now() + this.options.requestTimeout
    // Only a call that has to wait in a queue pays for a signal: the client's cancellation or the deadline.
    let waiting: { signal: AbortSignal; dispose: () => void } | undefined
    const queueSignal = () => (waiting ??= this.queueSignal(caller, deadline, pool, what)).signal
    // A request without a session (the stdio front's one client, a 2026 request) is bounded per upstream only.
    const sessionKey = caller.sessionId
    let releaseSession: (() => void) | undefined
    try {
      if (sessionKey !== undefined) {
        releaseSession = this.sessionSlots.tryAcquire(sessionKey) ?? (await this.sessionSlots.acquire(sessionKey, queueSignal()))
      }
      return await this.withFailover(pool, what, caller, deadline, queueSignal, run, pinned)
    } finally {
      releaseSession?.()
      waiting?.dispose()
      releaseOwner(caller)
    }
  }

  /** A signal that aborts when the client cancels or the deadline passes, for a call waiting in a queue. */
  private queueSignal(caller: Caller, deadline: number, pool: string, what: string) {
    const controller = new AbortController()
    const timer = setTimeout(
      () => controller.abort(new ProtocolError(REQUEST_TIMEOUT, `Server "${pool}" did not answer ${what} within ${this.options.requestTimeout} ms`)),
      Math.max(1, deadline - Date.now()),
    )
    const onAbort = () => controller.abort(caller.signal.reason)
    if (caller.signal.aborted) onAbort()
    else caller.signal.addEventListener('abort', onAbort, { once: true })
    return {
      signal: controller.signal,
      dispose: () => {
        clearTimeout(timer)
        caller.signal.removeEventListener('abort', onAbort)
      },
    }
  }

  /**
   * Runs a request on one healthy member of a pool (or on `pinned`, the member a 2026 retry names). A
   * transport failure (see errors.ts: no answer came) marks that member broken and retries once on another
   * member; a busy member (HTTP 429: the request was refused, nothing ran) is left in its pool and another
   * tried; an answer, a JSON-RPC error included, is that caller's alone and never retried, so a tool runs
   * once per call.
   */
  private async withFailover<T>(
    pool: string,
    what: string,
    caller: Caller,
    deadline: number,
    queueSignal: () => AbortSignal,
    run: Run<T>,
    pinned?: string,
  ): Promise<T> {
    const progressToken = caller.progressToken
    // A 2025 session of the HTTP front: its requests go on its own upstream sessions (own-connections.ts).
    const own = this.deps.own()
    const session = own && sessionOf(caller)
    const tried: Upstream[] = []
    let lastError: unknown
    const usable = () =>
      this.deps.members(pool).filter((u) => u.status === 'connected' && u.client && !tried.includes(u) && (!pinned || u.id === pinned))
    for (let attempt = 0; attempt < (pinned ? 1 : 2); attempt++) {
      let healthy = usable()
      // Every member down (a server restarting, say): try to reconnect them now rather than wait for their
      // backoff, within this call's deadline, so a call that finds the server back up succeeds.
      if (!healthy.length && attempt === 0) {
        const down = this.deps.members(pool).filter((u) => u.status !== 'connected' && (!pinned || u.id === pinned))
        const remaining = Math.max(1, deadline - Date.now())
        let timer: NodeJS.Timeout | undefined
        await Promise.race([Promise.allSettled(down.map((u) => u.connectOnDemand())), new Promise((resolve) => (timer = setTimeout(resolve, remaining)))])
        clearTimeout(timer)
        healthy = usable()
      }
      // A session that has its own session with a member stays with that member.
      const picked = (session && own.stuckTo(session, healthy)) || this.pick(pool, healthy)
      if (!picked) break
      tried.push(picked)
      let upstream = picked
      let release: (() => void) | undefined
      let callers: Caller[] | undefined
      let startedAt = 0
      let opening = false
      let callDeadline = deadline
      // A 2026 caller of a server that binds its sessions to their user rides their principal's session there.
      const owner = own && (session || own.principalSession(picked, caller.principal))
      try {
        // An own session that cannot be opened fails over like the member itself (a cap reached is the caller's error).
        if (owner && own.wanted(picked, owner)) {
          opening = true
          // A server asks for roots as its session starts: have them at hand, so its first call finds them applied.
          if (!own.has(owner, picked.id) && declares(caller.clientCapabilities, { roots: {} })) {
            await this.deps.rootsOf(owner as LegacySession).catch(() => {})
          }
          const chosen = own.choose(picked, owner, caller)
          if (chosen instanceof Promise) {
            upstream = await chosen
            // Opening it (bounded by connectTimeout) is not the request's time: a direct client connects, then calls.
            callDeadline = Math.max(deadline, Date.now() + this.options.requestTimeout)
          } else upstream = chosen
          opening = false
        }
        // Waiting for a slot counts against the deadline; only a call that holds one is "running" upstream.
        release = upstream.slots.tryAcquire() ?? (await upstream.slots.acquire(queueSignal()))
        if (!upstream.client) throw new SdkError(SdkErrorCode.NotConnected, 'Not connected')
        // The member counts the call (least-connections, `status`) wherever it runs: on it or on a session's own session.
        upstream.inflight++
        if (upstream !== picked) picked.inflight++
        callers = this.callers.get(upstream) ?? []
        callers.push(caller)
        this.callers.set(upstream, callers)
        const options: ForwardOptions = {
          timeout: Math.max(1, callDeadline - Date.now()),
          // Progress from the upstream shows the request is alive: it starts the timeout again, up to a total.
          resetTimeoutOnProgress: true,
          maxTotalTimeout: Math.max(1, this.maxTotalMs - (Date.now() - (deadline - this.options.requestTimeout))),
          // Marks the upstream request as this caller's: what the upstream sends about it comes back to it.
          relatedRequestId: ownerMark(caller),
          // The direct path's cancellation is listened to as is; an AbortSignal is made only where one is read.
          ...(caller.cancellation ? { cancellation: caller.cancellation } : { signal: caller.signal }),
          onprogress:
            progressToken === undefined
              ? undefined
              : (progress) => this.tell(caller, { method: 'notifications/progress', params: { ...progress, progressToken } }),
        }
        startedAt = performance.now()
        const result = await run(upstream, options)
        picked.stats.recordResult(performance.now() - startedAt, result, picked.secrets)
        // The upstream's progress and logs about the call were read before its answer and handed on as they
        // came: the result follows them out once they are with the client's codec (no extra turn when none came).
        const told = this.told.get(caller)
        if (told) await told
        return result
      } catch (error) {
        if (startedAt) picked.stats.recordError(performance.now() - startedAt, error, picked.secrets)
        if (isTimeoutError(error)) throw this.timeoutFailure(error, caller, pool, what, upstream)
        if (isCancelled(caller)) throw error
        const kind = classifyFailure(error)
        if (kind === 'request') throw requestFailure(error, pool, what, upstream)
        if (kind === 'transport') {
          // A session's own stdio child failing (or failing to start) is only itself; an own HTTP or SSE session
          // failing is its server failing.
          const ownChild = (opening || upstream !== picked) && picked.registration.connection.type === 'stdio'
          if (upstream !== picked) upstream.markBroken(error)
          if (!ownChild) picked.markBroken(error)
        }
        lastError = error
      } finally {
        if (callers) {
          upstream.inflight--
          if (upstream !== picked) picked.inflight--
          callers.splice(callers.indexOf(caller), 1)
        }
        release?.()
      }
    }
    throw this.poolFailure(pool, what, pinned, tried.length > 0, lastError)
  }

  /** A timeout: the caller's own cancellation as it is, else which of the two deadlines passed. */
  private timeoutFailure(error: unknown, caller: Caller, pool: string, what: string, upstream: Upstream): unknown {
    if (isCancelled(caller)) return error
    if (isTotalTimeout(error)) {
      return new ProtocolError(
        REQUEST_TIMEOUT,
        `Server "${pool}" (${upstream.id}) did not finish ${what} within ${this.maxTotalMs} ms (maxRequestTotalMs), progress notwithstanding`,
      )
    }
    return new ProtocolError(REQUEST_TIMEOUT, `Server "${pool}" (${upstream.id}) did not answer ${what} within ${this.options.requestTimeout} ms`)
  }

  /** No member could serve the request: why, with every member's state. */
  private poolFailure(pool: string, what: string, pinned: string | undefined, triedAny: boolean, lastError: unknown): ProtocolError {
    if (pinned && !triedAny) {
      return new ProtocolError(
        INTERNAL_ERROR,
        `Server "${pool}" member ${pinned}, which started this request, is not available. Try this: send the request again without requestState.`,
      )
    }
    const members = this.deps.members(pool)
    const states = members.map((u) => `${u.id} (${u.status}${u.lastError ? `: ${u.lastError}` : ''})`).join(', ')
    const secrets = members.flatMap((u) => u.secrets)
    if (lastError instanceof UpstreamBusyError) return busyFailure(lastError, pool, what, secrets)
    return new ProtocolError(
      INTERNAL_ERROR,
      redact(
        `Server "${pool}" could not serve ${what}: ${lastError ? upstreamErrorText((lastError as Error).message, secrets) : 'no healthy member'}. Members: ${states || 'none'}.`,
        secrets,
      ),
    )
  }
}

/** A failure that is this caller's answer alone: the server's own error (redacted), or a request that could not be sent. */
function requestFailure(error: unknown, pool: string, what: string, upstream: Upstream): unknown {
  const code = (error as { code?: unknown })?.code
  if (typeof code === 'number') {
    const message = (error as Error).message ?? ''
    const clean = upstreamErrorText(String(message), upstream.secrets)
    return clean === message ? error : new ProtocolError(code, clean, (error as { data?: unknown }).data)
  }
  // Not the server's answer and not the connection: this request could not be sent (e.g. not serializable).
  return new ProtocolError(
    INVALID_REQUEST,
    `Server "${pool}" could not be sent ${what}: ${upstreamErrorText((error as Error)?.message ?? String(error), upstream.secrets)}`,
  )
}

/** Every member the call could use answered HTTP 429: the server is busy (never the gateway's retry loop). */
function busyFailure(error: UpstreamBusyError, pool: string, what: string, secrets: string[]): ProtocolError {
  const wait = error.retryAfter === undefined ? 'later' : `after ${error.retryAfter} s (its Retry-After)`
  return new ProtocolError(
    UPSTREAM_BUSY,
    redact(`Server "${pool}" is busy and refused ${what} (${error.message}). Try this: send it again ${wait}.`, secrets),
    error.retryAfter === undefined ? undefined : { retryAfter: error.retryAfter },
  )
}

/** A timeout for the request's total time (`maxTotalTimeout`), not for a silence. */
function isTotalTimeout(error: unknown): boolean {
  return (error as { data?: { maxTotalTimeout?: unknown } })?.data?.maxTotalTimeout !== undefined
}
