import { MissingRequiredClientCapabilityError, ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client'
import { matchTemplate } from '../runtime/resource.js'
import { CallTelemetry } from '../telemetry/calls.js'
import type { TraceCarrier } from '../telemetry/tracing.js'
import type { Principal } from '../http/principal.js'
import { AppUris, asRequested, parsePoolUiUri } from './apps.js'
import { createBalancer } from './balancer.js'
import { buildRoutes, type Route } from './catalog.js'
import { toolCallInfo, traceMeta } from './call-telemetry.js'
import type { Cancellation, ForwardOptions } from './cancellation.js'
import { classifyFailure, redact, RESULT_TOO_LARGE, UPSTREAM_BUSY, UpstreamBusyError, upstreamErrorText } from './errors.js'
import { bindCaller, ownerMark, releaseOwner, sessionOf, soleCaller, takeOwner, wantsLog } from './isolation.js'
import { assertDepth, KeyedSemaphores, LIMIT_DEFAULTS } from './limits.js'
import type { LockGate } from './lock.js'
import { offeredTools, serverToolName } from './naming.js'
import type { OwnConnections } from './own-connections.js'
import { noteRoute, traceIdOf, type AuditNote } from './audit.js'
import type { RequestGuard } from './request-guard.js'
import { requestDigest, type GatewayState, type StateSealer } from './sealed-state.js'
import { RESOURCE_NOT_FOUND, unknownPrompt, unknownTool } from './surface.js'
import { assertTasksNegotiated, TaskIds, type TaskMethod } from './tasks.js'
import type { BalancerName } from './types.js'
import {
  isTimeoutError,
  mergeCacheHints,
  type CacheHint,
  type Upstream,
  type UpstreamEvents,
} from './upstream.js'

type Params = Record<string, unknown>
type Message = { method: string; params?: Params }
type ListKind = 'tools' | 'resources' | 'prompts'

const INVALID_REQUEST = -32600
const TERMINAL_TASK = new Set(['completed', 'failed', 'cancelled'])

/** A 2025 client session that can be sent a notification (the front's SDK server). */
type TaskSession = { notification(notification: Message): Promise<void> }

const taskKey = (upstream: string, task: Params) => `${upstream}\n${task.taskId}`
const METHOD_NOT_FOUND = -32601
const INVALID_PARAMS = -32602
const INTERNAL_ERROR = -32603
const REQUEST_TIMEOUT = -32001
const MAX_ROUNDS = 10
/** The key of a 2026 client's answer to the gateway's own `roots/list` input request. */
const ROOTS_ANSWER = 'roots'
const MAX_ROOTS_SESSIONS = 256
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

/** Who owns a task the caller starts: its client policy's name and, with OAuth, its user (two users of one policy own theirs apart). */
const taskOwner = (caller: Caller) => caller.principal && `${caller.principal.name}\u0000${caller.principal.sub ?? ''}`

/** Whether the caller cancelled, without making an AbortSignal for a direct-path call. */
const isCancelled = (caller: Caller) => (caller.cancellation ?? caller.signal).aborted

/**
 * Whoever made a request at the front, in either era: what the router needs to answer it, whatever
 * the wire underneath (a 2025 session or a self-contained 2026 request).
 */
export interface Caller {
  era: 'legacy' | 'modern'
  signal: AbortSignal
  /** A 2025 call on the direct path: its cancellation, which makes `signal` only when read (cancellation.ts). */
  cancellation?: Cancellation
  progressToken?: string | number
  /** `_meta` keys to pass on upstream (trace context and the like), without the protocol's own. */
  meta?: Params
  /** A notification about this request (progress, log). */
  notify(notification: Message): Promise<void>
  /** 2025 clients: a server-to-client request on the caller's session. */
  request?(request: Message, signal?: AbortSignal): Promise<unknown>
  /** The 2025 session's id (HTTP front): its requests share `maxConcurrentPerSession`. */
  sessionId?: string
  /** The JSON-RPC id of the client's request (telemetry). */
  requestId?: string | number
  /** HTTP headers of the request that carried it (trace context). */
  headers?: TraceCarrier
  /** 2026 clients: this round's answers, keyed as the gateway asked. */
  inputResponses?: Params
  /** 2026 clients: the gateway's verified state from the previous round. */
  state?: GatewayState
  /** The log level asked for: in a 2026 request (absent: no logs), or set by a 2025 session (absent: all). */
  logLevel?: string
  /** The client's declared capabilities: in a 2026 request's envelope, or at a 2025 session's initialize. */
  clientCapabilities?: Params
  /** Who is calling (audit, rate limits): the client's verified principal, when the front knows it. */
  principal?: Principal
  /** Set while a 2025 upstream's call is replayed for a 2026 client (see `replayOnLegacy`). */
  replay?: Replay
  /** Set when the request is audited: where it went (request-guard.ts). */
  audit?: AuditNote
}

/** Something that can tell 2025 sessions about changes (the v1 SDK's Server is one). */
export interface LegacySession {
  sendToolListChanged(): unknown
  sendPromptListChanged(): unknown
  sendResourceListChanged(): unknown
  sendLoggingMessage(params: never): Promise<unknown>
  sendResourceUpdated(params: { uri: string }): Promise<unknown>
  close(): Promise<unknown>
  /** What the client declared at initialize, and its roots (asked of it with `roots/list`). */
  getClientCapabilities?(): Params | undefined
  listRoots?(params?: undefined, options?: { signal?: AbortSignal }): Promise<unknown>
}

/** Something that tells 2026 `subscriptions/listen` streams about changes. */
export interface ModernNotifier {
  toolsChanged(): void
  promptsChanged(): void
  resourcesChanged(): void
  resourceUpdated(uri: string): void
}

interface Replay {
  answers: Params
  next: number
  needed?: Record<string, Message>
  /** Set when the upstream asked for something the client did not declare it can do. */
  missing?: Params
  abort: AbortController
}

/** The client capability a server-to-client request needs, as a capabilities object. */
function capabilityFor(request: Message): Params | undefined {
  if (request.method === 'elicitation/create') {
    return { elicitation: (request.params?.mode === 'url' ? { url: {} } : {}) }
  }
  if (request.method === 'sampling/createMessage') return { sampling: {} }
  if (request.method === 'roots/list') return { roots: {} }
  return undefined
}

function declares(capabilities: Params | undefined, needed: Params): boolean {
  return Object.entries(needed).every(([key, sub]) => {
    const declared = capabilities?.[key] as Params | undefined
    if (declared === undefined) return false
    return Object.keys(sub as Params).every((mode) => (declared as Params)[mode] !== undefined)
  })
}

export interface RouterOptions {
  requestTimeout: number
  /** A request reporting progress is cut after this long in all (default 10 min). */
  maxRequestTotalMs?: number
  balancer: BalancerName
  sealer: StateSealer
  /** Seals the task ids handed to clients (default: a random key per process). */
  taskIds?: TaskIds
  maxConcurrentPerSession?: number
  maxArgumentDepth?: number
  maxSubscriptionsPerSession?: number
}

/** Routes each client request to the pool that owns the name, over a healthy member, with one failover. */
export class Router implements UpstreamEvents {
  readonly sessions = new Set<LegacySession>()
  readonly notifiers = new Set<ModernNotifier>()
  readonly upstreams: Upstream[] = []
  private readonly subscriptions = new Map<LegacySession, Set<string>>()
  /** The merged instructions; null when an upstream's status changed since they were built. */
  private mergedInstructions: string | undefined | null = null
  /** Each client session's roots, once asked (see `rootsOf`). */
  private readonly sessionRoots = new WeakMap<LegacySession, Promise<unknown>>()
  /** Stand-in sessions of 2026 clients' roots, by roots (see `rootsSession`). */
  private readonly rootsSessions = new Map<string, LegacySession>()
  private readonly callers = new WeakMap<Upstream, Caller[]>()
  private toolRoutes = new Map<string, Route>()
  private promptRoutes = new Map<string, Route>()
  /** Where each pool's `ui://` apps are exposed and read (apps.ts). */
  private apps = new AppUris()
  private readonly published = new Map<ListKind, string>()
  private readonly pick: ReturnType<typeof createBalancer>
  /** Bumped whenever the exposed lists change (the discovery index is rebuilt on a new revision). */
  revision = 0
  /** Tool search ranks by meaning as well as words (GatewayOptions.searchByMeaning). */
  searchByMeaning = false
  /** Client sessions' own upstream sessions (HTTP front; see own-connections.ts for the session model). */
  own: OwnConnections | undefined
  /** Metrics, spans and log lines around forwarded tool calls (set up by the Gateway). */
  telemetry = new CallTelemetry('gateway', 'gateway')
  /** Rate limits per principal and the audit log, when the gateway has either (set up by the Gateway). */
  guard: RequestGuard | undefined
  /** Holds back tools and prompts that differ from airmcp.lock, when the gateway has one. */
  gate: LockGate | undefined
  /** Told of every upstream status change (reconnect counting). */
  onStatusChanged: ((upstream: Upstream) => void) | undefined

  private readonly sessionSlots: KeyedSemaphores
  private readonly taskIds: TaskIds
  /** The last notification about each caller's request handed to its client (its result goes after it). */
  private readonly told = new WeakMap<Caller, Promise<void>>()
  /** 2025 tasks still running, by upstream and upstream task id: the session to tell of status changes. */
  private readonly taskSessions = new Map<string, { session: TaskSession; exposed: Params }>()

  private get maxTotalMs(): number {
    return this.options.maxRequestTotalMs ?? LIMIT_DEFAULTS.maxRequestTotalMs
  }

  constructor(private readonly options: RouterOptions) {
    this.pick = createBalancer(options.balancer)
    this.taskIds = options.taskIds ?? new TaskIds(undefined)
    this.sessionSlots = new KeyedSemaphores(options.maxConcurrentPerSession ?? LIMIT_DEFAULTS.maxConcurrentPerSession)
  }

  /** Input limits, checked before anything is forwarded. */
  private checkInput(params: unknown, what: string): void {
    assertDepth(params, this.options.maxArgumentDepth ?? LIMIT_DEFAULTS.maxArgumentDepth, what)
  }

  removeSession(session: LegacySession): void {
    for (const [key, watcher] of this.taskSessions) if (watcher.session === (session as object)) this.taskSessions.delete(key)
    this.sessions.delete(session)
    this.subscriptions.delete(session)
    void this.own?.close(session)
  }

  add(upstream: Upstream): void {
    this.upstreams.push(upstream)
  }

  remove(upstream: Upstream): void {
    const index = this.upstreams.indexOf(upstream)
    if (index >= 0) this.upstreams.splice(index, 1)
    this.callers.delete(upstream)
    this.mergedInstructions = null
  }

  private members(pool: string): Upstream[] {
    return this.upstreams.filter((u) => u.pool === pool)
  }

  /** Per pool, what its members offer (replicas should agree; the union covers a rolling upgrade). */
  private offered<T>(items: (u: Upstream) => T[], key: (item: T) => string, upstreams = this.upstreams): Map<string, Map<string, T>> {
    const byPool = new Map<string, Map<string, T>>()
    for (const upstream of upstreams) {
      const pool = byPool.get(upstream.pool) ?? new Map<string, T>()
      for (const item of items(upstream)) if (!pool.has(key(item))) pool.set(key(item), item)
      byPool.set(upstream.pool, pool)
    }
    return byPool
  }

  /**
   * Recomputes the exposed names and lists of `kinds` (all by default); returns the kinds whose visible
   * list changed since the last rebuild. Linear in the items: names by buildRoutes, each list serialized
   * once (every item was bounded in depth and size when it was read, list-intake.ts).
   */
  rebuild(kinds: ListKind[] = ['tools', 'prompts', 'resources']): ListKind[] {
    // Tools and resources together decide how app URIs are exposed: when that changes, both lists do.
    if (kinds.includes('tools') || kinds.includes('resources')) {
      const apps = this.appUris()
      if (apps.key !== this.apps.key) kinds = [...new Set<ListKind>([...kinds, 'tools', 'resources'])]
      this.apps = apps
    }
    const names = (m: Map<string, Map<string, unknown>>) => new Map([...m].map(([pool, items]) => [pool, [...items.keys()]]))
    if (kinds.includes('tools')) this.toolRoutes = buildRoutes(names(this.offered((u) => this.exposedTools(u), (t) => t.name)))
    if (kinds.includes('prompts')) this.promptRoutes = buildRoutes(names(this.offered((u) => this.admitted(u, 'prompts'), (p) => p.name)))
    // Compared with what clients last saw: upstreams update their lists before calling here, so a
    // before/after comparison inside this call would miss a changed description.
    const changed = kinds.filter((kind) => {
      const now = JSON.stringify(kind === 'tools' ? this.listTools() : kind === 'prompts' ? this.listPrompts() : [this.listResources(), this.listResourceTemplates()])
      if (now === this.published.get(kind)) return false
      this.published.set(kind, now)
      return true
    })
    if (changed.length) this.revision++
    return changed
  }

  /** An upstream's tools as exposed: what the lock admits, under the registration's renames and prefix. */
  private exposedTools(upstream: Upstream) {
    const tools = offeredTools(upstream.registration.tools, this.admitted(upstream, 'tools'))
    return tools.map((tool) => this.apps.tool(upstream.pool, tool))
  }

  /** What every pool's members offer that bears on app URIs. */
  private appUris(): AppUris {
    const tools = this.offered((u) => u.tools, (t) => t.name)
    const resources = this.offered((u) => u.resources, (r) => r.uri)
    return new AppUris(
      [...tools.keys()].map((pool) => ({
        pool,
        tools: [...tools.get(pool)!.values()],
        resources: [...(resources.get(pool)?.values() ?? [])],
        renamed: this.members(pool).some((u) => Boolean(u.registration.tools?.prefix || Object.keys(u.registration.tools?.rename ?? {}).length)),
      })),
    )
  }

  /** What an upstream offers that the lock lets through (all of it without a lock). */
  private admitted<K extends 'tools' | 'prompts'>(upstream: Upstream, kind: K): Upstream[K] {
    return this.gate ? this.gate.admit(upstream, kind) : upstream[kind]
  }

  listTools() {
    const tools = this.offered((u) => this.exposedTools(u), (t) => t.name)
    return [...this.toolRoutes].map(([exposed, route]) => ({ ...tools.get(route.pool)!.get(route.name)!, name: exposed }))
  }

  listPrompts() {
    const prompts = this.offered((u) => this.admitted(u, 'prompts'), (p) => p.name)
    return [...this.promptRoutes].map(([exposed, route]) => ({
      ...prompts.get(route.pool)!.get(route.name)!,
      name: exposed,
    }))
  }

  /** Resources as `session` sees them: from its own upstream sessions where it has them (what its calls created there). */
  listResources(session?: object) {
    return [...this.offered((u) => u.resources, (r) => r.uri, this.seenBy(session))].flatMap(([pool, m]) => [...m.values()].map((r) => this.apps.resource(pool, r)))
  }

  listResourceTemplates(session?: object) {
    return [...this.offered((u) => u.resourceTemplates, (r) => r.uriTemplate, this.seenBy(session)).values()].flatMap((m) => [
      ...m.values(),
    ])
  }

  /** The upstreams whose lists a client session sees: its own session with a registration in place of the shared one. */
  private seenBy(session: object | undefined): Upstream[] {
    const own = session && this.own?.connectedOf(session)
    return own ? this.upstreams.map((u) => own.get(u.id) ?? u) : this.upstreams
  }

  /**
   * The gateway's instructions: each server's own (from its last connection, one member per pool) under
   * its name, each cut at MAX_INSTRUCTIONS_CHARS so one server cannot crowd out the rest.
   */
  instructions(): string | undefined {
    // Built once per change of an upstream's status (a connect reads them anew), not per 2026 request.
    if (this.mergedInstructions === null) {
      const byPool = new Map<string, string>()
      for (const upstream of this.upstreams) {
        if (upstream.instructions && !byPool.has(upstream.pool)) byPool.set(upstream.pool, upstream.instructions)
      }
      const sections = [...byPool].map(([pool, text]) => `## ${pool}\n${cutInstructions(text)}`)
      this.mergedInstructions = sections.length ? sections.join('\n\n') : undefined
    }
    return this.mergedInstructions
  }

  /** The merged cache hint of one list: the most conservative of the connected upstreams' hints. */
  cacheHint(kind: 'tools' | 'resources' | 'resourceTemplates' | 'prompts'): Required<CacheHint> {
    const hints = this.upstreams.filter((u) => u.status === 'connected').map((u) => u.cacheHints.get(kind) ?? {})
    return mergeCacheHints(hints.length ? hints : [{ ttlMs: 0, cacheScope: 'public' }])
  }

  /** The pool that serves a resource URI: an exact resource first, then an app a tool names, then a matching template. */
  private resourcePool(uri: string, session?: object): string | undefined {
    const upstreams = this.seenBy(session)
    return (
      upstreams.find((u) => u.resources.some((r) => r.uri === uri))?.pool ??
      this.apps.namer(uri) ??
      upstreams.find((u) => u.resourceTemplates.some((t) => t.uriTemplate === uri || matchTemplate(t.uriTemplate, uri)))?.pool
    )
  }

  /**
   * Forwards one request within its client session's share (`maxConcurrentPerSession`, queued past it) and
   * within `requestTimeout`, which also bounds the time spent waiting in a queue.
   */
  private forward<T>(
    pool: string,
    what: string,
    caller: Caller,
    run: (upstream: Upstream, options: ForwardOptions) => Promise<T>,
    pinned?: string,
  ): Promise<T> {
    return this.forwardOnce(pool, what, caller, run, pinned)
  }

  private async forwardOnce<T>(
    pool: string,
    what: string,
    caller: Caller,
    run: (upstream: Upstream, options: ForwardOptions) => Promise<T>,
    pinned?: string,
  ): Promise<T> {
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
      return await this.forwardWithFailover(pool, what, caller, deadline, queueSignal, run, pinned)
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
      () =>
        controller.abort(
          new ProtocolError(REQUEST_TIMEOUT, `Server "${pool}" did not answer ${what} within ${this.options.requestTimeout} ms`),
        ),
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
  private async forwardWithFailover<T>(
    pool: string,
    what: string,
    caller: Caller,
    deadline: number,
    queueSignal: () => AbortSignal,
    run: (upstream: Upstream, options: ForwardOptions) => Promise<T>,
    pinned?: string,
  ): Promise<T> {
    const progressToken = caller.progressToken
    // A 2025 session of the HTTP front: its requests go on its own upstream sessions (own-connections.ts).
    const session = this.own && sessionOf(caller)
    const tried: Upstream[] = []
    let lastError: unknown
    const usable = () =>
      this.members(pool).filter((u) => u.status === 'connected' && u.client && !tried.includes(u) && (!pinned || u.id === pinned))
    for (let attempt = 0; attempt < (pinned ? 1 : 2); attempt++) {
      let healthy = usable()
      // Every member down (a server restarting, say): try to reconnect them now rather than wait for their
      // backoff, within this call's deadline, so a call that finds the server back up succeeds.
      if (!healthy.length && attempt === 0) {
        const down = this.members(pool).filter((u) => u.status !== 'connected' && (!pinned || u.id === pinned))
        const remaining = Math.max(1, deadline - Date.now())
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          Promise.allSettled(down.map((u) => u.connectOnDemand())),
          new Promise((resolve) => (timer = setTimeout(resolve, remaining))),
        ])
        clearTimeout(timer)
        healthy = usable()
      }
      // A session that has its own session with a member stays with that member.
      const picked = (session && this.own!.stuckTo(session, healthy)) || this.pick(pool, healthy)
      if (!picked) break
      tried.push(picked)
      let upstream = picked
      let release: (() => void) | undefined
      let callers: Caller[] | undefined
      let startedAt = 0
      let opening = false
      let callDeadline = deadline
      try {
        // An own session that cannot be opened fails over like the member itself (a cap reached is the caller's error).
        if (session && this.own!.wanted(picked, session)) {
          opening = true
          // A server asks for roots as its session starts: have them at hand, so its first call finds them applied.
          if (!this.own!.has(session, picked.id) && declares(caller.clientCapabilities, { roots: {} })) {
            await this.rootsOf(session as LegacySession).catch(() => {})
          }
          const chosen = this.own!.choose(picked, session)
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
        // came: the result follows them out once they are with the client's codec.
        await this.told.get(caller)
        return result
      } catch (error) {
        if (startedAt) picked.stats.recordError(performance.now() - startedAt, error, picked.secrets)
        if (isTimeoutError(error)) {
          if (isCancelled(caller)) throw error
          if (isTotalTimeout(error)) {
            throw new ProtocolError(
              REQUEST_TIMEOUT,
              `Server "${pool}" (${upstream.id}) did not finish ${what} within ${this.maxTotalMs} ms (maxRequestTotalMs), progress notwithstanding`,
            )
          }
          throw new ProtocolError(
            REQUEST_TIMEOUT,
            `Server "${pool}" (${upstream.id}) did not answer ${what} within ${this.options.requestTimeout} ms`,
          )
        }
        if (isCancelled(caller)) throw error
        const kind = classifyFailure(error)
        if (kind === 'request') throw this.requestFailure(error, pool, what, upstream)
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
    if (pinned && !tried.length) {
      throw new ProtocolError(
        INTERNAL_ERROR,
        `Server "${pool}" member ${pinned}, which started this request, is not available. Try this: send the request again without requestState.`,
      )
    }
    const states = this.members(pool)
      .map((u) => `${u.id} (${u.status}${u.lastError ? `: ${u.lastError}` : ''})`)
      .join(', ')
    const secrets = this.members(pool).flatMap((u) => u.secrets)
    if (lastError instanceof UpstreamBusyError) throw busyFailure(lastError, pool, what, secrets)
    throw new ProtocolError(
      INTERNAL_ERROR,
      redact(
        `Server "${pool}" could not serve ${what}: ${lastError ? upstreamErrorText((lastError as Error).message, secrets) : 'no healthy member'}. Members: ${states || 'none'}.`,
        secrets,
      ),
    )
  }

  /** A failure that is this caller's answer alone: the server's own error (redacted), or a request that could not be sent. */
  private requestFailure(error: unknown, pool: string, what: string, upstream: Upstream): unknown {
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

  /** The params sent upstream: the caller's own `_meta` keys go along, the progress token is the SDK's. */
  private upstreamParams(params: Params, caller: Caller, upstream: Upstream, extraMeta?: Params, era = upstream.era): Params {
    const { _meta: _ignored, inputResponses: _responses, requestState: _state, ...rest } = params
    const meta: Params = { ...caller.meta, ...extraMeta }
    if (era === 'modern' && caller.era === 'modern') {
      // The upstream answers for the client at the front: its log level and what it can do.
      if (caller.logLevel) meta['io.modelcontextprotocol/logLevel'] = caller.logLevel
      meta['io.modelcontextprotocol/clientCapabilities'] = caller.clientCapabilities ?? {}
    } else if (era === 'modern') {
      // A 2025 session hears every log until it sets a level; a 2026 upstream sends none unless asked.
      meta['io.modelcontextprotocol/logLevel'] = caller.logLevel ?? 'debug'
      // What the session declared at initialize: the upstream asks only for input it can give.
      if (caller.clientCapabilities) meta['io.modelcontextprotocol/clientCapabilities'] = caller.clientCapabilities
    }
    return Object.keys(meta).length ? { ...rest, _meta: meta } : rest
  }

  /**
   * tools/call, prompts/get and resources/read: the requests that may need the client's input. A 2025
   * client answers the server's requests on its session; a 2026 client gets `input_required` results
   * whose `requestState` is the gateway's sealed envelope naming the upstream.
   */
  private interactive(
    pool: string,
    what: string,
    method: string,
    paramsFor: (upstream: Upstream) => Params,
    exposed: Params,
    caller: Caller,
    extraMeta?: Params,
    onUpstream?: (upstream: Upstream) => void,
  ) {
    if (caller.era !== 'modern') {
      return this.forward(pool, what, caller, (upstream, options) => {
        this.served(caller, upstream, onUpstream)
        const params = paramsFor(upstream)
        // A 2025 caller goes on a 2025 session where the upstream offers one; only a 2026-only one is bridged.
        const onSession = upstream.era === 'modern'
        const answer =
          !onSession || upstream.sessionClient
            ? upstream.request(method, this.upstreamParams(params, caller, upstream, extraMeta, 'legacy'), options, onSession)
            : this.roundsForLegacy(upstream, method, params, caller, options, extraMeta)
        // A 2025 task (the caller sent `params.task`): its id sealed like a 2026 one, its status news for this session.
        return answer.then((result) => {
          const exposed = this.taskIds.exposeLegacy(result, upstream.id, taskOwner(caller))
          const session = sessionOf(caller) as TaskSession | undefined
          if (exposed !== result && session) this.taskSessions.set(taskKey(upstream.id, result.task as Params), { session, exposed: exposed.task as Params })
          return exposed
        })
      })
    }
    const digest = requestDigest(method, exposed)
    const state = caller.state
    if (state && state.request !== digest) {
      throw new ProtocolError(INVALID_PARAMS, 'Invalid requestState: it was issued for another request.')
    }
    if (this.needsRoots(pool, caller)) {
      const roots = caller.inputResponses?.[ROOTS_ANSWER] ?? state?.answers?.[ROOTS_ANSWER]
      if (roots === undefined) {
        return Promise.resolve({
          resultType: 'input_required',
          inputRequests: { [ROOTS_ANSWER]: { method: 'roots/list', params: {} } },
          requestState: this.options.sealer.seal({ upstream: '', request: digest, answers: {} }),
        })
      }
      bindCaller(caller, this.rootsSession(roots as Params, caller.clientCapabilities!))
    }
    return this.forward(
      pool,
      what,
      caller,
      async (upstream, options) => {
        this.served(caller, upstream, onUpstream)
        const params = paramsFor(upstream)
        if (upstream.era === 'modern') {
          const sent = {
            ...this.upstreamParams(params, caller, upstream, extraMeta),
            ...(caller.inputResponses ? { inputResponses: caller.inputResponses } : {}),
            ...(state?.state !== undefined ? { requestState: state.state } : {}),
          }
          const result = await upstream.request(method, sent, options)
          if (result.resultType === 'task') return this.taskIds.expose(result, upstream.id, taskOwner(caller))
          if (result.resultType !== 'input_required') return result
          return {
            resultType: 'input_required',
            ...(result.inputRequests ? { inputRequests: result.inputRequests } : {}),
            requestState: this.options.sealer.seal({
              upstream: upstream.id,
              request: digest,
              ...(typeof result.requestState === 'string' ? { state: result.requestState } : {}),
            }),
          }
        }
        return this.replayOnLegacy(upstream, method, params, caller, options, digest, extraMeta)
      },
      state?.upstream,
    )
  }

  /** Tells the request's hooks which member serves it: the telemetry span (`onUpstream`), the audit line. */
  private served(caller: Caller, upstream: Upstream, onUpstream?: (upstream: Upstream) => void): void {
    if (caller.audit) caller.audit.upstream = upstream.id
    onUpstream?.(upstream)
  }

  /**
   * A 2025 server asks for roots when a session starts (and on list_changed), not in a call: a 2026 client
   * declaring roots is asked for them first (an input round), and its calls run on an upstream session of
   * their own whose `roots/list` answers with them (one per distinct set of roots), wherever a 2025 session
   * with those capabilities would get its own (own-connections.ts).
   */
  private needsRoots(pool: string, caller: Caller): boolean {
    if (!this.own || !declares(caller.clientCapabilities, { roots: {} })) return false
    const like = { getClientCapabilities: () => caller.clientCapabilities }
    return this.members(pool).some((u) => u.era === 'legacy' && this.own!.wanted(u, like))
  }

  /** The stand-in session of a 2026 client's roots: what its own connections answer `roots/list` with. */
  private rootsSession(roots: Params, capabilities: Params): LegacySession {
    const key = JSON.stringify([roots, capabilities])
    let session = this.rootsSessions.get(key)
    if (!session) {
      // A 2026 client has no session to hear what its upstream session says outside a call: that is dropped.
      const unheard = async () => {}
      session = {
        getClientCapabilities: () => capabilities,
        listRoots: async () => roots,
        sendToolListChanged: unheard,
        sendPromptListChanged: unheard,
        sendResourceListChanged: unheard,
        sendLoggingMessage: unheard,
        sendResourceUpdated: unheard,
        close: unheard,
      }
      this.rootsSessions.set(key, session)
      // Bounded: a forgotten stand-in's connection still closes when idle; the same roots later open another.
      if (this.rootsSessions.size > MAX_ROOTS_SESSIONS) this.rootsSessions.delete(this.rootsSessions.keys().next().value!)
    }
    return session
  }

  /**
   * A 2025 client and a 2026 upstream: each `input_required` round's requests go to this very caller's
   * session as server-to-client requests, and the call is retried with the answers and the upstream's state.
   */
  private async roundsForLegacy(
    upstream: Upstream,
    method: string,
    params: Params,
    caller: Caller,
    options: ForwardOptions,
    extraMeta?: Params,
  ) {
    const base = this.upstreamParams(params, caller, upstream, extraMeta)
    let round: Params = {}
    for (let rounds = 0; rounds < MAX_ROUNDS; rounds++) {
      const result = await upstream.request(method, { ...base, ...round }, options)
      if (result.resultType !== 'input_required') return result
      if (!caller.request) throw new ProtocolError(INVALID_REQUEST, `${method} needs input this client cannot be asked for.`)
      const inputResponses: Params = {}
      for (const [key, request] of Object.entries((result.inputRequests ?? {}) as Record<string, Message>)) {
        inputResponses[key] = await caller.request(request)
      }
      round = { inputResponses, ...(result.requestState !== undefined ? { requestState: result.requestState } : {}) }
    }
    throw new ProtocolError(INTERNAL_ERROR, `${method} still needed input after ${MAX_ROUNDS} rounds.`)
  }

  /**
   * A 2026 client and a 2025 upstream: the upstream asks for input with server-to-client requests in the
   * middle of its call, which a 2026 client cannot receive. The gateway keeps nothing between requests:
   * each round replays the call, answering the upstream's requests in order from the answers collected so
   * far (carried in the sealed state); the first unanswered one cancels the call and becomes an
   * `input_required` result. The upstream's handler therefore runs once per round.
   */
  private async replayOnLegacy(
    upstream: Upstream,
    method: string,
    params: Params,
    caller: Caller,
    options: ForwardOptions,
    digest: string,
    extraMeta?: Params,
  ): Promise<Params> {
    const answers: Params = { ...caller.state?.answers }
    for (const [key, value] of Object.entries(caller.inputResponses ?? {})) if (/^r\d+$/.test(key) || key === ROOTS_ANSWER) answers[key] = value
    const replay: Replay = { answers, next: 0, abort: new AbortController() }
    caller.replay = replay
    const signal = AbortSignal.any([caller.signal, replay.abort.signal])
    try {
      return await upstream.request(method, this.upstreamParams(params, caller, upstream, extraMeta), { ...options, signal })
    } catch (error) {
      if (replay.missing) throw new MissingRequiredClientCapabilityError({ requiredCapabilities: replay.missing } as never)
      if (!replay.needed) throw error
      return {
        resultType: 'input_required',
        inputRequests: replay.needed,
        requestState: this.options.sealer.seal({ upstream: upstream.id, request: digest, answers }),
      }
    } finally {
      caller.replay = undefined
    }
  }

  callTool(params: Params, caller: Caller) {
    const name = params.name as string
    const route = this.toolRoutes.get(name)
    if (!route) {
      // A tool held back by airmcp.lock says why; any other unknown name gets the one "unknown tool" answer.
      const held = this.gate?.explain(name)
      throw held ? new ProtocolError(INVALID_PARAMS, held) : unknownTool(name)
    }
    const what = `tools/call "${name}"`
    this.checkInput(params, what)
    noteRoute(caller, route.pool)
    return this.telemetry.run(toolCallInfo(route, params, caller), (scope) =>
      this.interactive(
        route.pool,
        what,
        'tools/call',
        (upstream) => {
          const upstreamName = serverToolName(upstream.registration.tools, upstream.tools, route.name)
          if (caller.audit) caller.audit.upstreamName = upstreamName
          return { ...params, name: upstreamName }
        },
        params,
        caller,
        traceMeta(scope),
        (upstream) => {
          scope.annotate('airmcp.upstream.id', upstream.id)
          if (caller.audit) caller.audit.traceId = traceIdOf(scope.propagate)
        },
      ).catch((error: unknown) => {
        // An oversized result is the tool's failure, reported like one; the server stays in its pool.
        if ((error as { code?: unknown })?.code === RESULT_TOO_LARGE) {
          return { content: [{ type: 'text' as const, text: (error as Error).message }], isError: true }
        }
        throw error
      }),
    )
  }

  /** The pool and the server's URI behind a resource URI a client uses (an app URI the gateway exposed under its pool's name included). */
  private resourceTarget(uri: string, session?: object): { pool: string; uri: string } | undefined {
    const app = parsePoolUiUri(uri)
    if (app && this.members(app.pool).length) return app
    const pool = this.resourcePool(uri, session)
    return pool ? { pool, uri } : undefined
  }

  /**
   * tasks/get, tasks/update and tasks/cancel: to the member running the task (named in its sealed id),
   * for the client that started it; the answer carries the id the client sent.
   */
  taskRequest(method: TaskMethod, params: Params, caller: Caller) {
    if (caller.era === 'modern') assertTasksNegotiated(caller.clientCapabilities)
    const route = this.taskIds.open(params.taskId, taskOwner(caller))
    const pool = this.upstreams.find((u) => u.id === route.upstream)?.pool
    if (pool === undefined) throw new ProtocolError(INVALID_PARAMS, `Unknown task ${JSON.stringify(params.taskId)}.`)
    return this.forward(
      pool,
      method,
      caller,
      async (upstream, options) => {
        const sent = {
          ...this.upstreamParams(params, caller, upstream, undefined, caller.era === 'modern' ? upstream.era : 'legacy'),
          taskId: route.taskId,
          ...(caller.inputResponses ? { inputResponses: caller.inputResponses } : {}),
        }
        // A 2025 caller's task lives on the upstream's 2025 session, where it asks for the 2025 shapes.
        const result = await upstream.request(method, sent, options, caller.era === 'legacy' && upstream.era === 'modern')
        return this.taskIds.withClientId(result, params.taskId as string)
      },
      route.upstream,
    )
  }

  readResource(params: Params, caller: Caller) {
    const uri = params.uri as string
    const target = this.resourceTarget(uri, sessionOf(caller))
    if (!target) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri })
    this.checkInput(params, 'resources/read')
    noteRoute(caller, target.pool)
    const sent = target.uri === uri ? params : { ...params, uri: target.uri }
    const read = this.interactive(target.pool, `resources/read "${uri}"`, 'resources/read', () => sent, params, caller)
    return sent === params ? read : read.then((result) => asRequested(result, target.uri, uri))
  }

  getPrompt(params: Params, caller: Caller) {
    const name = params.name as string
    const route = this.promptRoutes.get(name)
    if (!route) throw unknownPrompt(name)
    this.checkInput(params, `prompts/get "${name}"`)
    noteRoute(caller, route.pool, route.name)
    return this.interactive(route.pool, `prompts/get "${name}"`, 'prompts/get', () => ({ ...params, name: route.name }), params, caller)
  }

  complete(params: Params, caller: Caller) {
    const ref = params.ref as { type: string; name?: string; uri?: string }
    const route = ref.type === 'ref/prompt' ? this.promptRoutes.get(ref.name ?? '') : undefined
    const pool = route?.pool ?? (ref.type === 'ref/resource' ? this.resourcePool(ref.uri ?? '', sessionOf(caller)) : undefined)
    if (!pool) return { completion: { values: [] } }
    this.checkInput(params, 'completion/complete')
    noteRoute(caller, pool)
    const sent = route ? { ...params, ref: { ...ref, name: route.name } } : params
    return this.forward(pool, 'completion/complete', caller, (upstream, options) =>
      upstream.request('completion/complete', this.upstreamParams(sent, caller, upstream), options),
    )
  }

  /** Asks every member of the owning pool for updates about `uri` (whichever replica notices a change). */
  async subscribeUpstream(uri: string): Promise<boolean> {
    const target = this.resourceTarget(uri)
    if (!target) return false
    await Promise.allSettled(this.members(target.pool).map((u) => u.subscribeResource(target.uri)))
    return true
  }

  async subscribe(session: LegacySession, uri: string) {
    const uris = this.subscriptions.get(session) ?? new Set<string>()
    const max = this.options.maxSubscriptionsPerSession ?? LIMIT_DEFAULTS.maxSubscriptionsPerSession
    if (!uris.has(uri) && uris.size >= max) {
      throw new ProtocolError(
        INVALID_PARAMS,
        `Too many resource subscriptions in this session (limit ${max}). Try this: unsubscribe from resources you no longer follow, or raise maxSubscriptionsPerSession.`,
      )
    }
    // An app URI the gateway exposed under its pool's name is subscribed to upstream under the server's own.
    const target = this.resourceTarget(uri, session)
    if (!target) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri })
    // Counted before the upstream is asked, so that concurrent subscribes cannot all pass the check.
    const added = !uris.has(uri)
    uris.add(uri)
    this.subscriptions.set(session, uris)
    try {
      // On the session's own upstream session, where its calls run: the server's updates come to it alone.
      const own = await this.ownSession(session, target.pool)
      if (own) await own.subscribeResource(target.uri)
      else await this.subscribeUpstream(uri)
    } catch (error) {
      if (added) uris.delete(uri)
      throw error
    }
    return {}
  }

  /** The session's own upstream session with a pool, opened now when its requests there need one. */
  private async ownSession(session: object, pool: string): Promise<Upstream | undefined> {
    const healthy = this.members(pool).filter((u) => u.status === 'connected' && u.client)
    const picked = this.own && (this.own.stuckTo(session, healthy) ?? this.pick(pool, healthy))
    if (!picked || !this.own!.wanted(picked, session)) return undefined
    const own = await this.own!.choose(picked, session)
    return own === picked ? undefined : own
  }

  unsubscribe(session: LegacySession, uri: string) {
    this.subscriptions.get(session)?.delete(uri)
    return {}
  }

  // ---- events from upstreams ----

  private announce(kinds: Array<'tools' | 'resources' | 'prompts'>): void {
    for (const kind of kinds) {
      for (const session of this.sessions) {
        const send =
          kind === 'tools'
            ? session.sendToolListChanged()
            : kind === 'prompts'
              ? session.sendPromptListChanged()
              : session.sendResourceListChanged()
        void Promise.resolve(send).catch(() => {})
      }
      for (const notifier of this.notifiers) {
        if (kind === 'tools') notifier.toolsChanged()
        else if (kind === 'prompts') notifier.promptsChanged()
        else notifier.resourcesChanged()
      }
    }
  }

  listChanged(upstream: Upstream, kind: ListKind): void {
    // A session's own resources are its client's news alone (tools and prompts are listed from the shared catalog).
    const owner = this.own?.ownerOf(upstream) as LegacySession | undefined
    if (owner) {
      if (kind === 'resources') void Promise.resolve(owner.sendResourceListChanged()).catch(() => {})
      return
    }
    this.announce(this.rebuild([kind]))
  }

  statusChanged(upstream?: Upstream): void {
    // A session's own upstream session coming and going changes nothing others see.
    if (upstream && this.own?.ownerOf(upstream)) return
    this.mergedInstructions = null
    if (upstream) this.onStatusChanged?.(upstream)
    this.announce(this.rebuild())
  }

  /**
   * A log goes to the client whose call it belongs to (its mark, or the only client with calls in flight
   * there); one of no call, to the 2025 sessions that asked for its level. Otherwise several clients have
   * calls in flight on a channel that cannot say whose it is: dropped rather than guessed.
   */
  log(upstream: Upstream, params: Record<string, unknown>): void {
    const { owner, marked, params: clean } = takeOwner(params)
    // A log of a call that is over: its client is done with it, and nobody else may read it.
    if (marked && !owner) return
    const message = { ...clean, logger: (clean.logger as string | undefined) ?? upstream.pool }
    const callers = this.callers.get(upstream) ?? []
    const caller = (owner as Caller | undefined) ?? soleCaller(callers)
    if (caller) {
      const wanted =
        caller.era === 'modern'
          ? atLeast(clean.level as string, caller.logLevel)
          : wantsLog(sessionOf(caller), clean.level, atLeast(clean.level as string, caller.logLevel ?? 'debug'))
      if (wanted) this.tell(caller, { method: 'notifications/message', params: message })
    } else if (!callers.length) {
      // A session's own connection speaks for that session only, which hears it as it would direct.
      const own = this.own?.ownerOf(upstream) as LegacySession | undefined
      for (const session of own ? [own] : this.sessions) {
        if (wantsLog(session, clean.level, !!own)) void session.sendLoggingMessage(message as never).catch(() => {})
      }
    }
  }

  /** Tells a caller something about its request (progress, a log); its result waits until that is sent. */
  private tell(caller: Caller, notification: Message): void {
    this.told.set(caller, caller.notify(notification).catch(() => {}))
  }

  /** A 2025 task's status change: to the session that started the task alone, under the id it was given. */
  taskStatus(upstream: Upstream, params: Record<string, unknown>): void {
    const key = taskKey(upstream.id, params)
    const watcher = this.taskSessions.get(key)
    if (!watcher) return
    if (TERMINAL_TASK.has(params.status as string)) this.taskSessions.delete(key)
    const notification = { method: 'notifications/tasks/status', params: { ...params, taskId: watcher.exposed.taskId } }
    void watcher.session.notification(notification).catch(() => {})
  }

  /**
   * A client session's roots (asked of it once, until it says they changed), or Method not found, as its
   * SDK answers, when it declared none.
   */
  private rootsOf(session: LegacySession): Promise<unknown> {
    if (!session.listRoots || !declares(session.getClientCapabilities?.(), { roots: {} })) return Promise.reject(methodNotFound())
    let roots = this.sessionRoots.get(session)
    if (!roots) {
      roots = session.listRoots()
      this.sessionRoots.set(session, roots)
      roots.catch(() => this.sessionRoots.get(session) === roots && this.sessionRoots.delete(session))
    }
    return roots
  }

  /** A 2025 session's roots changed: the upstream sessions that are its own are told (they ask it again). */
  async rootsChanged(session: LegacySession): Promise<void> {
    this.sessionRoots.delete(session)
    const connections = (await this.own?.connectionsOf(session)) ?? []
    await Promise.allSettled(connections.map((connection) => connection.rootsChanged()))
  }

  resourceUpdated(upstream: Upstream, serverUri: string): void {
    const uri = this.apps.exposed(upstream.pool, serverUri)
    // An own session's update is its client's; the shared session's go to the subscribers without their own there.
    const owner = this.own?.ownerOf(upstream)
    for (const [session, uris] of this.subscriptions) {
      if (!uris.has(uri) || (owner ? session !== owner : this.own?.has(session, upstream.id))) continue
      void session.sendResourceUpdated({ uri }).catch(() => {})
    }
    if (!owner) for (const notifier of this.notifiers) notifier.resourceUpdated(uri)
  }

  /**
   * Sampling, elicitation or roots goes to the client whose call caused it, or whose own connection asks
   * outside a call; it is refused when that is unknown. A client that did not declare the capability is
   * not asked: the upstream gets the client SDK's own answer, Method not found.
   */
  async clientRequest(upstream: Upstream, marked: { method: string; params?: Record<string, unknown> }, signal?: AbortSignal) {
    const { owner, marked: isMarked, params } = takeOwner(marked.params)
    const request = { method: marked.method, ...(params ? { params } : {}) }
    if (isMarked && !owner) throw new ProtocolError(INVALID_REQUEST, `${request.method} refused: the call it belongs to is over.`)
    const callers = this.callers.get(upstream) ?? []
    const caller = (owner as Caller | undefined) ?? soleCaller(callers)
    const needed = capabilityFor(request)
    // A session's own upstream session speaks for that session only, in a call or not: its roots are its owner's.
    const session = this.own?.ownerOf(upstream) as LegacySession | undefined
    if (session && request.method === 'roots/list') return this.rootsOf(session)
    if (!caller) {
      throw new ProtocolError(
        INVALID_REQUEST,
        callers.length
          ? `${request.method} refused: several clients have calls in flight on "${upstream.id}" and its transport does not say whose call this belongs to.`
          : `${request.method} needs a client call in progress to answer it.`,
      )
    }
    const replay = caller.replay
    if (replay) {
      const key = `r${replay.next++}`
      if (key in replay.answers) return replay.answers[key]
      if (needed && !declares(caller.clientCapabilities, needed)) {
        replay.missing = needed
        replay.abort.abort()
        throw new ProtocolError(INVALID_REQUEST, `The client did not declare the capability ${request.method} needs.`)
      }
      replay.needed = { [key]: { method: request.method, params: request.params ?? {} } }
      replay.abort.abort()
      throw new ProtocolError(INVALID_REQUEST, `${request.method} is asked of the client; the call resumes on its retry.`)
    }
    // What the client declared is known for a 2025 session on the HTTP front (its initialize).
    if (needed && caller.clientCapabilities && !declares(caller.clientCapabilities, needed)) throw methodNotFound()
    if (!caller.request) {
      throw new ProtocolError(INVALID_REQUEST, `${request.method} cannot reach this client.`)
    }
    // The upstream cancelling its request cancels it at that client too.
    return caller.request(request, signal)
  }
}

/** What a client SDK answers a request it has no handler for (a capability it did not declare). */
function methodNotFound(): ProtocolError {
  return new ProtocolError(METHOD_NOT_FOUND, 'Method not found')
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

/** Longest part of the gateway's instructions one server's take (characters). */
export const MAX_INSTRUCTIONS_CHARS = 8192

function cutInstructions(text: string): string {
  if (text.length <= MAX_INSTRUCTIONS_CHARS) return text
  return `${text.slice(0, MAX_INSTRUCTIONS_CHARS)}\n[… cut by the gateway: ${text.length - MAX_INSTRUCTIONS_CHARS} more characters]`
}

/** A timeout for the request's total time (`maxTotalTimeout`), not for a silence. */
function isTotalTimeout(error: unknown): boolean {
  return (error as { data?: { maxTotalTimeout?: unknown } })?.data?.maxTotalTimeout !== undefined
}

/** True when a log at `level` passes a client's threshold (`undefined` threshold: nothing passes). */
function atLeast(level: string | undefined, threshold: string | undefined): boolean {
  if (!threshold) return false
  return LOG_LEVELS.indexOf(level ?? 'info') >= LOG_LEVELS.indexOf(threshold)
}
