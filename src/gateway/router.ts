import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { RequestHandlerExtra, RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js'
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  McpError,
  type CallToolRequest,
  type CompleteRequest,
  type GetPromptRequest,
  type ReadResourceRequest,
  type ServerNotification,
  type ServerRequest,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { matchTemplate } from '../runtime/resource.js'
import { createBalancer } from './balancer.js'
import { CallTelemetry } from '../telemetry/calls.js'
import { isErrorResult } from './call-stats.js'
import { buildRoutes, type Route } from './catalog.js'
import { toolCallInfo, withTraceMeta } from './call-telemetry.js'
import { ownerMark, sessionOf, soleCaller, takeOwner, wantsLog } from './isolation.js'
import type { LockGate } from './lock.js'
import { offeredTools, serverToolName } from './naming.js'
import type { OwnConnections } from './own-connections.js'
import { RESOURCE_NOT_FOUND, unknownPrompt, unknownTool } from './surface.js'
import type { BalancerName } from './types.js'
import { classifyFailure, redact, RESULT_TOO_LARGE } from './errors.js'
import { assertDepth, KeyedSemaphores, LIMIT_DEFAULTS } from './limits.js'
import type { Upstream, UpstreamEvents } from './upstream.js'
import { toRequestError } from './upstream-error.js'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/**
 * Forwarded results are passed on as the server sent them: the client that asked validates them, so the
 * gateway checks only that a result is an object instead of parsing every field twice.
 */
const ForwardedResult = z.looseObject({})

/** Routes each client request to the pool that owns the name, over a healthy member, with one failover. */
export class Router implements UpstreamEvents {
  readonly sessions = new Set<Server>()
  readonly upstreams: Upstream[] = []
  private readonly subscriptions = new Map<Server, Set<string>>()
  private readonly callers = new Map<Upstream, Extra[]>()
  private toolRoutes = new Map<string, Route>()
  private promptRoutes = new Map<string, Route>()
  private published = ''
  private readonly pick: ReturnType<typeof createBalancer>
  /** Bumped whenever the exposed lists change (the discovery index is rebuilt on a new revision). */
  revision = 0
  /** Per-session connections to shared-channel upstreams for clients that may be asked for input (HTTP front). */
  own: OwnConnections | undefined
  /** Metrics, spans and log lines around forwarded tool calls (set up by the Gateway). */
  telemetry = new CallTelemetry('gateway', 'gateway')
  /** Holds back tools and prompts that differ from airmcp.lock, when the gateway has one. */
  gate: LockGate | undefined
  /** Told of every upstream status change (reconnect counting). */
  onStatusChanged: ((upstream: Upstream) => void) | undefined

  private readonly sessionSlots: KeyedSemaphores

  constructor(
    private readonly options: {
      requestTimeout: number
      balancer: BalancerName
      maxConcurrentPerSession?: number
      maxArgumentDepth?: number
    },
  ) {
    this.pick = createBalancer(options.balancer)
    this.sessionSlots = new KeyedSemaphores(options.maxConcurrentPerSession ?? LIMIT_DEFAULTS.maxConcurrentPerSession)
  }

  /** Input limits, checked before anything is forwarded. */
  private checkInput(params: unknown, what: string): void {
    assertDepth(params, this.options.maxArgumentDepth ?? LIMIT_DEFAULTS.maxArgumentDepth, what)
  }

  removeSession(session: Server): void {
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
  }

  private members(pool: string): Upstream[] {
    return this.upstreams.filter((u) => u.pool === pool)
  }

  /** Per pool, what its members offer (replicas should agree; the union covers a rolling upgrade). */
  private offered<T>(items: (u: Upstream) => T[], key: (item: T) => string): Map<string, Map<string, T>> {
    const byPool = new Map<string, Map<string, T>>()
    for (const upstream of this.upstreams) {
      const pool = byPool.get(upstream.pool) ?? new Map<string, T>()
      for (const item of items(upstream)) if (!pool.has(key(item))) pool.set(key(item), item)
      byPool.set(upstream.pool, pool)
    }
    return byPool
  }

  /** Recomputes the exposed names; true when the visible lists changed since the last rebuild. */
  rebuild(): boolean {
    const names = (m: Map<string, Map<string, unknown>>) => new Map([...m].map(([pool, items]) => [pool, [...items.keys()]]))
    this.toolRoutes = buildRoutes(names(this.offered((u) => this.exposedTools(u), (t) => t.name)))
    this.promptRoutes = buildRoutes(names(this.offered((u) => this.admitted(u, 'prompts'), (p) => p.name)))
    // Compared with what clients last saw: upstreams update their lists before calling here, so a
    // before/after comparison inside this call would miss a changed description.
    const now = JSON.stringify([this.listTools(), this.listPrompts(), this.listResources(), this.listResourceTemplates()])
    const changed = now !== this.published
    this.published = now
    if (changed) this.revision++
    return changed
  }

  /** An upstream's tools as exposed: what the lock admits, under the registration's renames and prefix. */
  private exposedTools(upstream: Upstream) {
    return offeredTools(upstream.registration.tools, this.admitted(upstream, 'tools'))
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

  listResources() {
    return [...this.offered((u) => u.resources, (r) => r.uri).values()].flatMap((m) => [...m.values()])
  }

  listResourceTemplates() {
    return [...this.offered((u) => u.resourceTemplates, (r) => r.uriTemplate).values()].flatMap((m) => [...m.values()])
  }

  /** The pool that serves a resource URI: an exact resource first, then a matching template. */
  private resourcePool(uri: string): string | undefined {
    return (
      this.upstreams.find((u) => u.resources.some((r) => r.uri === uri))?.pool ??
      this.upstreams.find((u) => u.resourceTemplates.some((t) => t.uriTemplate === uri || matchTemplate(t.uriTemplate, uri)))
        ?.pool
    )
  }

  /**
   * Forwards one request within its client session's share (`maxConcurrentPerSession`, queued past it) and
   * within `requestTimeout`, which also bounds the time spent waiting in a queue.
   */
  private forward<T>(
    pool: string,
    what: string,
    extra: Extra,
    run: (upstream: Upstream, options: RequestOptions) => Promise<T>,
  ): Promise<T> {
    return this.forwardOnce(pool, what, extra, run).catch((error: unknown) => Promise.reject(toRequestError(error)))
  }

  private async forwardOnce<T>(
    pool: string,
    what: string,
    extra: Extra,
    run: (upstream: Upstream, options: RequestOptions) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + this.options.requestTimeout
    // Only a call that has to wait in a queue pays for a signal: the client's cancellation or the deadline.
    let waiting: { signal: AbortSignal; dispose: () => void } | undefined
    const queueSignal = () => (waiting ??= this.queueSignal(extra, deadline, pool, what)).signal
    // A request without a session (the stdio front's one client, a per-request era) is bounded per upstream only.
    const sessionKey = extra.sessionId
    let releaseSession: (() => void) | undefined
    try {
      if (sessionKey !== undefined) {
        releaseSession = this.sessionSlots.tryAcquire(sessionKey) ?? (await this.sessionSlots.acquire(sessionKey, queueSignal()))
      }
      return await this.forwardWithFailover(pool, what, extra, deadline, queueSignal, run)
    } finally {
      releaseSession?.()
      waiting?.dispose()
    }
  }

  /** A signal that aborts when the client cancels or the deadline passes, for a call waiting in a queue. */
  private queueSignal(extra: Extra, deadline: number, pool: string, what: string) {
    const controller = new AbortController()
    const timer = setTimeout(
      () =>
        controller.abort(
          new McpError(ErrorCode.RequestTimeout, `Server "${pool}" did not answer ${what} within ${this.options.requestTimeout} ms`),
        ),
      Math.max(1, deadline - Date.now()),
    )
    const onAbort = () => controller.abort(extra.signal.reason)
    if (extra.signal.aborted) onAbort()
    else extra.signal.addEventListener('abort', onAbort, { once: true })
    return {
      signal: controller.signal,
      dispose: () => {
        clearTimeout(timer)
        extra.signal.removeEventListener('abort', onAbort)
      },
    }
  }

  /**
   * Runs a request on one healthy member of a pool. A transport failure (see errors.ts) marks that member
   * broken and retries once on another member; any other failure is that caller's answer alone.
   */
  private async forwardWithFailover<T>(
    pool: string,
    what: string,
    extra: Extra,
    deadline: number,
    queueSignal: () => AbortSignal,
    run: (upstream: Upstream, options: RequestOptions) => Promise<T>,
  ): Promise<T> {
    const progressToken = extra._meta?.progressToken
    const tried: Upstream[] = []
    let lastError: unknown
    for (let attempt = 0; attempt < 2; attempt++) {
      const healthy = this.members(pool).filter((u) => u.status === 'connected' && u.client && !tried.includes(u))
      const picked = this.pick(pool, healthy)
      if (!picked) break
      tried.push(picked)
      const upstream = this.own?.wanted(picked, extra) ? await this.own.choose(picked, extra) : picked
      let release: (() => void) | undefined
      let callers: Extra[] | undefined
      let startedAt = 0
      try {
        // Waiting for a slot counts against the deadline; only a call that holds one is "running" upstream.
        release = upstream.slots.tryAcquire() ?? (await upstream.slots.acquire(queueSignal()))
        if (!upstream.client) throw new McpError(ErrorCode.ConnectionClosed, 'Connection closed')
        upstream.inflight++
        callers = this.callers.get(upstream) ?? []
        callers.push(extra)
        this.callers.set(upstream, callers)
        const options: RequestOptions = {
          timeout: Math.max(1, deadline - Date.now()),
          // Marks the upstream request as this caller's: what the upstream sends about it comes back to it.
          relatedRequestId: ownerMark(extra),
          signal: extra.signal,
          onprogress:
            progressToken === undefined
              ? undefined
              : (progress) =>
                  void extra
                    .sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } })
                    .catch(() => {}),
        }
        startedAt = performance.now()
        const result = await run(upstream, options)
        upstream.stats.record(performance.now() - startedAt, isErrorResult(result))
        return result
      } catch (error) {
        if (startedAt) upstream.stats.record(performance.now() - startedAt, true)
        if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
          if (extra.signal.aborted) throw error
          throw new McpError(
            ErrorCode.RequestTimeout,
            `Server "${pool}" (${upstream.id}) did not answer ${what} within ${this.options.requestTimeout} ms`,
          )
        }
        if (extra.signal.aborted) throw error
        if (classifyFailure(error) === 'request') {
          if (error instanceof McpError) throw new McpError(error.code, redact(error.message.replace(/^MCP error -?\d+: /, ''), upstream.secrets), error.data)
          // Not the server's answer and not the connection: this request could not be sent (e.g. not serializable).
          throw new McpError(
            ErrorCode.InvalidRequest,
            `Server "${pool}" could not be sent ${what}: ${redact((error as Error)?.message ?? String(error), upstream.secrets)}`,
          )
        }
        upstream.markBroken(error)
        lastError = error
      } finally {
        if (callers) {
          upstream.inflight--
          callers.splice(callers.indexOf(extra), 1)
        }
        release?.()
      }
    }
    const states = this.members(pool)
      .map((u) => `${u.id} (${u.status}${u.lastError ? `: ${u.lastError}` : ''})`)
      .join(', ')
    const secrets = this.members(pool).flatMap((u) => u.secrets)
    throw new McpError(
      ErrorCode.InternalError,
      redact(
        `Server "${pool}" could not serve ${what}: ${lastError ? (lastError as Error).message : 'no healthy member'}. Members: ${states || 'none'}.`,
        secrets,
      ),
    )
  }

  callTool(request: CallToolRequest, extra: Extra) {
    const route = this.toolRoutes.get(request.params.name)
    if (!route) {
      // A tool held back by airmcp.lock says why; any other unknown name gets the one "unknown tool" answer.
      const held = this.gate?.explain(request.params.name)
      throw held ? new McpError(ErrorCode.InvalidParams, held) : unknownTool(request.params.name)
    }
    const what = `tools/call "${request.params.name}"`
    this.checkInput(request.params, what)
    return this.telemetry.run(toolCallInfo(route, request, extra), (scope) =>
      this.forward(route.pool, what, extra, (upstream, options) => {
        scope.annotate('airmcp.upstream.id', upstream.id)
        const name = serverToolName(upstream.registration.tools, upstream.tools, route.name)
        return upstream.client!.request(
          { method: 'tools/call', params: withTraceMeta({ ...request.params, name }, scope) },
          ForwardedResult,
          options,
        )
      }).catch((error: unknown) => {
        // An oversized result is the tool's failure, reported like one; the server stays in its pool.
        if ((error as { code?: unknown })?.code === RESULT_TOO_LARGE) {
          return { content: [{ type: 'text' as const, text: (error as Error).message.replace(/^(MCP error -?\d+: )+/, '') }], isError: true }
        }
        throw error
      }),
    )
  }

  readResource(request: ReadResourceRequest, extra: Extra) {
    const pool = this.resourcePool(request.params.uri)
    if (!pool) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${request.params.uri}`)
    this.checkInput(request.params, 'resources/read')
    return this.forward(pool, `resources/read "${request.params.uri}"`, extra, (upstream, options) =>
      upstream.client!.request({ method: 'resources/read', params: request.params }, ForwardedResult, options),
    )
  }

  getPrompt(request: GetPromptRequest, extra: Extra) {
    const route = this.promptRoutes.get(request.params.name)
    if (!route) throw unknownPrompt(request.params.name)
    this.checkInput(request.params, `prompts/get "${request.params.name}"`)
    return this.forward(route.pool, `prompts/get "${request.params.name}"`, extra, (upstream, options) =>
      upstream.client!.request(
        { method: 'prompts/get', params: { ...request.params, name: route.name } },
        ForwardedResult,
        options,
      ),
    )
  }

  complete(request: CompleteRequest, extra: Extra) {
    const { ref } = request.params
    const route = ref.type === 'ref/prompt' ? this.promptRoutes.get(ref.name) : undefined
    const pool = route?.pool ?? (ref.type === 'ref/resource' ? this.resourcePool(ref.uri) : undefined)
    if (!pool) return { completion: { values: [] } }
    this.checkInput(request.params, 'completion/complete')
    const params = route ? { ...request.params, ref: { ...ref, name: route.name } } : request.params
    return this.forward(pool, 'completion/complete', extra, (upstream, options) =>
      upstream.client!.request({ method: 'completion/complete', params }, ForwardedResult, options),
    )
  }

  async subscribe(session: Server, request: SubscribeRequest, extra: Extra) {
    const uri = request.params.uri
    const pool = this.resourcePool(uri)
    if (!pool) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`)
    // Every member subscribes, so an update reaches the client whichever replica notices it.
    await Promise.allSettled(
      this.members(pool)
        .filter((u) => u.client && u.client.getServerCapabilities()?.resources?.subscribe)
        .map((u) => u.client!.subscribeResource({ uri })),
    )
    const uris = this.subscriptions.get(session) ?? new Set()
    uris.add(uri)
    this.subscriptions.set(session, uris)
    return {}
  }

  unsubscribe(session: Server, request: UnsubscribeRequest) {
    this.subscriptions.get(session)?.delete(request.params.uri)
    return {}
  }

  // ---- events from upstreams ----

  listChanged(_upstream: Upstream, kind: 'tools' | 'resources' | 'prompts'): void {
    if (!this.rebuild()) return
    for (const session of this.sessions) {
      const send =
        kind === 'tools'
          ? session.sendToolListChanged()
          : kind === 'prompts'
            ? session.sendPromptListChanged()
            : session.sendResourceListChanged()
      void Promise.resolve(send).catch(() => {})
    }
  }

  statusChanged(upstream?: Upstream): void {
    if (upstream) this.onStatusChanged?.(upstream)
    if (!this.rebuild()) return
    for (const session of this.sessions) {
      void Promise.allSettled([
        session.sendToolListChanged(),
        session.sendPromptListChanged(),
        session.sendResourceListChanged(),
      ])
    }
  }

  /** A log goes to the client whose call it belongs to; one of no call, to the clients that asked for its level. */
  log(upstream: Upstream, params: Record<string, unknown>): void {
    const { owner, params: clean } = takeOwner(params)
    const message = { ...clean, logger: (clean.logger as string | undefined) ?? upstream.pool }
    const callers = this.callers.get(upstream) ?? []
    const caller = (owner as Extra | undefined) ?? soleCaller(callers)
    if (caller) {
      if (wantsLog(sessionOf(caller), clean.level, true)) {
        void caller.sendNotification({ method: 'notifications/message', params: message as never }).catch(() => {})
      }
    } else if (!callers.length) {
      // A session's own connection speaks for that session only.
      const own = this.own?.ownerOf(upstream) as Server | undefined
      for (const session of own ? [own] : this.sessions) {
        if (wantsLog(session, clean.level, false)) void session.sendLoggingMessage(message as never).catch(() => {})
      }
    }
    // Otherwise several clients have calls in flight on a channel that cannot say whose this is: dropped.
  }

  resourceUpdated(_upstream: Upstream, uri: string): void {
    for (const [session, uris] of this.subscriptions) {
      if (uris.has(uri)) void session.sendResourceUpdated({ uri }).catch(() => {})
    }
  }

  /** Sampling or elicitation goes to the client whose call caused it, and is refused when that is unknown. */
  async clientRequest(upstream: Upstream, request: { method: string; params?: Record<string, unknown> }, signal?: AbortSignal) {
    const { owner, params } = takeOwner(request.params)
    const callers = this.callers.get(upstream) ?? []
    const caller = (owner as Extra | undefined) ?? soleCaller(callers)
    if (!caller) {
      throw new McpError(
        ErrorCode.InvalidRequest,
        callers.length
          ? `${request.method} refused: several clients have calls in flight on "${upstream.id}" and its transport does not say whose call this belongs to.`
          : `${request.method} needs a client call in progress to answer it.`,
      )
    }
    const schema = request.method === 'elicitation/create' ? ElicitResultSchema : CreateMessageResultSchema
    // The upstream cancelling its request cancels it at that client too.
    return caller.sendRequest({ method: request.method, params } as ServerRequest, schema, { signal })
  }
}
