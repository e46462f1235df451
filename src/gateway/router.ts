// The router: the route stage (an exposed name to its pool, input limits, telemetry) in front of the other stages, and the one face the fronts and upstreams talk to.
import { ProtocolError } from '@modelcontextprotocol/client'
import { CallTelemetry } from '../telemetry/calls.js'
import { asRequested } from './apps.js'
import { noteRoute, traceIdOf } from './audit.js'
import { announce } from './announcements.js'
import { toolCallInfo, traceMeta } from './call-telemetry.js'
<<<<<<< HEAD
import type { Cancellation, ForwardOptions } from './cancellation.js'
import { classifyFailure, redact, RESULT_TOO_LARGE, UPSTREAM_BUSY, UpstreamBusyError, upstreamErrorText } from './errors.js'
import { bindCaller, ownerMark, releaseOwner, sessionOf, soleCaller, takeOwner, wantsLog } from './isolation.js'
import { assertDepth, KeyedSemaphores, LIMIT_DEFAULTS } from './limits.js'
=======
import { upstreamParams, type Caller, type LegacySession, type ListKind, type Message, type ModernNotifier, type Params } from './caller.js'
import { EraBridge } from './era-bridge.js'
import { RESULT_TOO_LARGE, withoutCodePrefix } from './errors.js'
import { Forwarding, type ForwardingOptions } from './forwarding.js'
import { sessionOf } from './isolation.js'
import { assertDepth, LIMIT_DEFAULTS } from './limits.js'
>>>>>>> h-router
import type { LockGate } from './lock.js'
import { MergedLists } from './merged-lists.js'
import { serverToolName } from './naming.js'
import type { OwnConnections } from './own-connections.js'
import type { RequestGuard } from './request-guard.js'
import type { StateSealer } from './sealed-state.js'
import { ServerMessages } from './server-messages.js'
import { Subscriptions } from './subscriptions.js'
import { RESOURCE_NOT_FOUND, unknownPrompt, unknownTool } from './surface.js'
<<<<<<< HEAD
import { assertTasksNegotiated, TaskIds, type TaskMethod } from './tasks.js'
import type { BalancerName } from './types.js'
import {
  isTimeoutError,
  mergeCacheHints,
  type CacheHint,
  type Upstream,
  type UpstreamEvents,
} from './upstream.js'
=======
import { TaskRouting } from './task-routing.js'
import { TaskIds, type TaskMethod } from './tasks.js'
import { toRequestError } from './upstream-error.js'
import type { CacheHint, Upstream, UpstreamEvents } from './upstream.js'
>>>>>>> h-router

export type { Caller, LegacySession, ModernNotifier } from './caller.js'

const INVALID_PARAMS = -32602

export interface RouterOptions extends ForwardingOptions {
  sealer: StateSealer
  /** Seals the task ids handed to clients (default: a random key per process). */
  taskIds?: TaskIds
  maxArgumentDepth?: number
  maxSubscriptionsPerSession?: number
}

/**
 * Routes each client request to the pool that owns the name, through the stages: merged lists
 * (merged-lists.ts), era bridging (era-bridge.ts), forwarding with failover (forwarding.ts), tasks
 * (task-routing.ts); and each upstream's messages back to clients (server-messages.ts, subscriptions.ts,
 * announcements.ts).
 */
export class Router implements UpstreamEvents {
  readonly sessions = new Set<LegacySession>()
  readonly notifiers = new Set<ModernNotifier>()
  readonly upstreams: Upstream[] = []
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

  private readonly lists: MergedLists
  private readonly forwarding: Forwarding
  private readonly tasks: TaskRouting
  private readonly bridge: EraBridge
  private readonly messages: ServerMessages
  private readonly subscriptions: Subscriptions

  constructor(private readonly options: RouterOptions) {
    const own = () => this.own
    this.lists = new MergedLists(this.upstreams, { gate: () => this.gate, own })
    const members = (pool: string) => this.lists.members(pool)
    this.forwarding = new Forwarding(options, { members, own, rootsOf: (session) => this.messages.rootsOf(session) })
    this.tasks = new TaskRouting(options.taskIds ?? new TaskIds(undefined), this.forwarding, this.upstreams)
    this.bridge = new EraBridge({ forwarding: this.forwarding, tasks: this.tasks, sealer: options.sealer, members, own })
    this.messages = new ServerMessages(this.forwarding, this.sessions, own)
    this.subscriptions = new Subscriptions(this.lists, this.forwarding, this.notifiers, own, options.maxSubscriptionsPerSession)
  }

  /** Bumped whenever the exposed lists change (the discovery index is rebuilt on a new revision). */
  get revision(): number {
    return this.lists.revision
  }

  // ---- upstreams and client sessions ----

  add(upstream: Upstream): void {
    this.upstreams.push(upstream)
  }

  remove(upstream: Upstream): void {
    const index = this.upstreams.indexOf(upstream)
    if (index >= 0) this.upstreams.splice(index, 1)
    this.forwarding.forget(upstream)
    this.lists.forgetInstructions()
  }

  removeSession(session: LegacySession): void {
    this.tasks.removeSession(session)
    this.sessions.delete(session)
    this.subscriptions.removeSession(session)
    void this.own?.close(session)
  }

  // ---- the merged lists ----

  rebuild(kinds?: ListKind[]): ListKind[] {
    return this.lists.rebuild(kinds)
  }

  listTools() {
    return this.lists.listTools()
  }

  listPrompts() {
    return this.lists.listPrompts()
  }

  listResources(session?: object) {
    return this.lists.listResources(session)
  }

  listResourceTemplates(session?: object) {
    return this.lists.listResourceTemplates(session)
  }

  instructions(): string | undefined {
    return this.lists.instructions()
  }

  cacheHint(kind: 'tools' | 'resources' | 'resourceTemplates' | 'prompts'): Required<CacheHint> {
    return this.lists.cacheHint(kind)
  }

  // ---- the route stage: client requests ----

  /** Input limits, checked before anything is forwarded. */
  private checkInput(params: unknown, what: string): void {
    assertDepth(params, this.options.maxArgumentDepth ?? LIMIT_DEFAULTS.maxArgumentDepth, what)
  }

<<<<<<< HEAD
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
      let progressSent: Promise<unknown> | undefined
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
              : (progress) =>
                  (progressSent = caller
                    .notify({ method: 'notifications/progress', params: { ...progress, progressToken } })
                    .catch(() => {})),
        }
        startedAt = performance.now()
        const result = await run(upstream, options)
        picked.stats.recordResult(performance.now() - startedAt, result, picked.secrets)
        // SDK clients handle a notification a turn after a response read in the same chunk, and drop
        // progress that arrives after its call ended: the result waits for the progress to be out first.
        if (progressSent) await progressSent.then(() => new Promise((resolve) => setTimeout(resolve, 5)))
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

=======
>>>>>>> h-router
  callTool(params: Params, caller: Caller) {
    const name = params.name as string
    const route = this.lists.toolRoute(name)
    if (!route) {
      // A tool held back by airmcp.lock says why; any other unknown name gets the one "unknown tool" answer.
      const held = this.gate?.explain(name)
      throw held ? new ProtocolError(INVALID_PARAMS, held) : unknownTool(name)
    }
    const what = `tools/call "${name}"`
    this.checkInput(params, what)
    noteRoute(caller, route.pool)
    return this.telemetry.run(toolCallInfo(route, params, caller), (scope) =>
<<<<<<< HEAD
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
=======
      this.bridge
        .run(
          {
            pool: route.pool,
            what,
            method: 'tools/call',
            paramsFor: (upstream) => {
              const upstreamName = serverToolName(upstream.registration.tools, upstream.tools, route.name)
              if (caller.audit) caller.audit.upstreamName = upstreamName
              return { ...params, name: upstreamName }
            },
            exposed: params,
            extraMeta: traceMeta(scope),
            onUpstream: (upstream) => {
              scope.annotate('airmcp.upstream.id', upstream.id)
              if (caller.audit) caller.audit.traceId = traceIdOf(scope.propagate)
            },
          },
          caller,
        )
        .catch((error: unknown) => {
          // An oversized result is the tool's failure, reported like one; the server stays in its pool.
          if ((error as { code?: unknown })?.code === RESULT_TOO_LARGE) {
            return { content: [{ type: 'text' as const, text: withoutCodePrefix((error as Error).message) }], isError: true }
          }
          throw error
        }),
>>>>>>> h-router
    )
  }

  taskRequest(method: TaskMethod, params: Params, caller: Caller) {
    return this.tasks.taskRequest(method, params, caller)
  }

  readResource(params: Params, caller: Caller) {
    const uri = params.uri as string
    const target = this.lists.resourceTarget(uri, sessionOf(caller))
    if (!target) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri })
    this.checkInput(params, 'resources/read')
    noteRoute(caller, target.pool)
    const sent = target.uri === uri ? params : { ...params, uri: target.uri }
    const read = this.bridge.run({ pool: target.pool, what: `resources/read "${uri}"`, method: 'resources/read', paramsFor: () => sent, exposed: params }, caller)
    return sent === params ? read : read.then((result) => asRequested(result, target.uri, uri))
  }

  getPrompt(params: Params, caller: Caller) {
    const name = params.name as string
    const route = this.lists.promptRoute(name)
    if (!route) throw unknownPrompt(name)
    this.checkInput(params, `prompts/get "${name}"`)
    noteRoute(caller, route.pool, route.name)
    const paramsFor = () => ({ ...params, name: route.name })
    return this.bridge.run({ pool: route.pool, what: `prompts/get "${name}"`, method: 'prompts/get', paramsFor, exposed: params }, caller)
  }

  complete(params: Params, caller: Caller) {
    const ref = params.ref as { type: string; name?: string; uri?: string }
    const route = ref.type === 'ref/prompt' ? this.lists.promptRoute(ref.name ?? '') : undefined
    const pool = route?.pool ?? (ref.type === 'ref/resource' ? this.lists.resourcePool(ref.uri ?? '', sessionOf(caller)) : undefined)
    if (!pool) return { completion: { values: [] } }
    this.checkInput(params, 'completion/complete')
    noteRoute(caller, pool)
    const sent = route ? { ...params, ref: { ...ref, name: route.name } } : params
    return this.forwarding.forward(pool, 'completion/complete', caller, (upstream, options) =>
      upstream.request('completion/complete', upstreamParams(sent, caller, upstream.era), options),
    )
  }

  // ---- subscriptions ----

  subscribeUpstream(uri: string): Promise<boolean> {
    return this.subscriptions.subscribeUpstream(uri)
  }

  subscribe(session: LegacySession, uri: string) {
    return this.subscriptions.subscribe(session, uri)
  }

  unsubscribe(session: LegacySession, uri: string) {
    return this.subscriptions.unsubscribe(session, uri)
  }

  // ---- events from upstreams ----

  listChanged(upstream: Upstream, kind: ListKind): void {
    // A session's own resources are its client's news alone (tools and prompts are listed from the shared catalog).
    const owner = this.own?.ownerOf(upstream) as LegacySession | undefined
    if (owner) {
      if (kind === 'resources') void Promise.resolve(owner.sendResourceListChanged()).catch(() => {})
      return
    }
    announce(this.rebuild([kind]), this.sessions, this.notifiers)
  }

  statusChanged(upstream?: Upstream): void {
    // A session's own upstream session coming and going changes nothing others see.
    if (upstream && this.own?.ownerOf(upstream)) return
    this.lists.forgetInstructions()
    if (upstream) this.onStatusChanged?.(upstream)
    announce(this.rebuild(), this.sessions, this.notifiers)
  }

  log(upstream: Upstream, params: Params): void {
    this.messages.log(upstream, params)
  }

  taskStatus(upstream: Upstream, params: Params): void {
    this.tasks.taskStatus(upstream, params)
  }

  rootsChanged(session: LegacySession): Promise<void> {
    return this.messages.rootsChanged(session)
  }

  resourceUpdated(upstream: Upstream, serverUri: string): void {
    this.subscriptions.resourceUpdated(upstream, serverUri)
  }

  clientRequest(upstream: Upstream, request: Message, signal?: AbortSignal) {
    return this.messages.clientRequest(upstream, request, signal)
  }
}
