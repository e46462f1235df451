import { MissingRequiredClientCapabilityError, ProtocolError } from '@modelcontextprotocol/client'
import type { RequestOptions } from '@modelcontextprotocol/client'
import { matchTemplate } from '../runtime/resource.js'
import { createBalancer } from './balancer.js'
import { buildRoutes, type Route } from './catalog.js'
import { requestDigest, type GatewayState, type StateSealer } from './sealed-state.js'
import type { BalancerName } from './types.js'
import {
  isConnectionError,
  isTimeoutError,
  mergeCacheHints,
  PassThrough,
  type CacheHint,
  type Upstream,
  type UpstreamEvents,
} from './upstream.js'

type Params = Record<string, unknown>
type Message = { method: string; params?: Params }

const INVALID_REQUEST = -32600
const INVALID_PARAMS = -32602
const INTERNAL_ERROR = -32603
const REQUEST_TIMEOUT = -32001
const RESOURCE_NOT_FOUND = -32002
const MAX_ROUNDS = 10
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

/**
 * Whoever made a request at the front, in either era: what the router needs to answer it, whatever
 * the wire underneath (a 2025 session or a self-contained 2026 request).
 */
export interface Caller {
  era: 'legacy' | 'modern'
  signal: AbortSignal
  progressToken?: string | number
  /** `_meta` keys to pass on upstream (trace context and the like), without the protocol's own. */
  meta?: Params
  /** A notification about this request (progress, log). */
  notify(notification: Message): Promise<void>
  /** 2025 clients: a server-to-client request on the caller's session. */
  request?(request: Message): Promise<unknown>
  /** 2026 clients: this round's answers, keyed as the gateway asked. */
  inputResponses?: Params
  /** 2026 clients: the gateway's verified state from the previous round. */
  state?: GatewayState
  /** The log level asked for: in a 2026 request (absent: no logs), or set by a 2025 session (absent: all). */
  logLevel?: string
  /** The client's declared capabilities: in a 2026 request's envelope, or at a 2025 session's initialize. */
  clientCapabilities?: Params
  /** Set while a 2025 upstream's call is replayed for a 2026 client (see `replayOnLegacy`). */
  replay?: Replay
}

/** Something that can tell 2025 sessions about changes (the v1 SDK's Server is one). */
export interface LegacySession {
  sendToolListChanged(): unknown
  sendPromptListChanged(): unknown
  sendResourceListChanged(): unknown
  sendLoggingMessage(params: never): Promise<unknown>
  sendResourceUpdated(params: { uri: string }): Promise<unknown>
  close(): Promise<unknown>
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
  balancer: BalancerName
  sealer: StateSealer
}

/** Routes each client request to the pool that owns the name, over a healthy member, with one failover. */
export class Router implements UpstreamEvents {
  readonly sessions = new Set<LegacySession>()
  readonly notifiers = new Set<ModernNotifier>()
  readonly upstreams: Upstream[] = []
  private readonly subscriptions = new Map<LegacySession, Set<string>>()
  private readonly callers = new Map<Upstream, Caller[]>()
  private toolRoutes = new Map<string, Route>()
  private promptRoutes = new Map<string, Route>()
  private readonly pick: ReturnType<typeof createBalancer>

  constructor(private readonly options: RouterOptions) {
    this.pick = createBalancer(options.balancer)
  }

  removeSession(session: LegacySession): void {
    this.sessions.delete(session)
    this.subscriptions.delete(session)
  }

  add(upstream: Upstream): void {
    this.upstreams.push(upstream)
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

  /** Recomputes the exposed names; true when the visible lists changed. */
  rebuild(): boolean {
    const before = JSON.stringify([this.listTools(), this.listPrompts(), this.listResources(), this.listResourceTemplates()])
    const names = (m: Map<string, Map<string, unknown>>) => new Map([...m].map(([pool, items]) => [pool, [...items.keys()]]))
    this.toolRoutes = buildRoutes(names(this.offered((u) => u.tools, (t) => t.name)))
    this.promptRoutes = buildRoutes(names(this.offered((u) => u.prompts, (p) => p.name)))
    return before !== JSON.stringify([this.listTools(), this.listPrompts(), this.listResources(), this.listResourceTemplates()])
  }

  listTools() {
    const tools = this.offered((u) => u.tools, (t) => t.name)
    return [...this.toolRoutes].map(([exposed, route]) => ({ ...tools.get(route.pool)!.get(route.name)!, name: exposed }))
  }

  listPrompts() {
    const prompts = this.offered((u) => u.prompts, (p) => p.name)
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

  /** The merged cache hint of one list: the most conservative of the connected upstreams' hints. */
  cacheHint(kind: 'tools' | 'resources' | 'resourceTemplates' | 'prompts'): Required<CacheHint> {
    const hints = this.upstreams.filter((u) => u.status === 'connected').map((u) => u.cacheHints.get(kind) ?? {})
    return mergeCacheHints(hints.length ? hints : [{ ttlMs: 0, cacheScope: 'public' }])
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
   * Runs a request on one healthy member of a pool (or on `pinned`, the member a 2026 retry names). A
   * failure of the connection (not a server's answer, not a timeout, not a cancellation) marks that
   * member broken and retries once on another member.
   */
  private async forward<T>(
    pool: string,
    what: string,
    caller: Caller,
    run: (upstream: Upstream, options: RequestOptions) => Promise<T>,
    pinned?: string,
  ): Promise<T> {
    const deadline = Date.now() + this.options.requestTimeout
    const progressToken = caller.progressToken
    const tried: Upstream[] = []
    let lastError: unknown
    for (let attempt = 0; attempt < (pinned ? 1 : 2); attempt++) {
      const healthy = this.members(pool).filter(
        (u) => u.status === 'connected' && u.client && !tried.includes(u) && (!pinned || u.id === pinned),
      )
      const upstream = this.pick(pool, healthy)
      if (!upstream) break
      tried.push(upstream)
      const timeout = Math.max(1, deadline - Date.now())
      let progressSent: Promise<unknown> | undefined
      const options: RequestOptions = {
        timeout,
        signal: caller.signal,
        onprogress:
          progressToken === undefined
            ? undefined
            : (progress) =>
                (progressSent = caller
                  .notify({ method: 'notifications/progress', params: { ...progress, progressToken } })
                  .catch(() => {})),
      }
      upstream.inflight++
      const callers = this.callers.get(upstream) ?? []
      callers.push(caller)
      this.callers.set(upstream, callers)
      try {
        const result = await run(upstream, options)
        // SDK clients handle a notification a turn after a response read in the same chunk, and drop
        // progress that arrives after its call ended: the result waits for the progress to be out first.
        if (progressSent) await progressSent.then(() => new Promise((resolve) => setTimeout(resolve, 5)))
        return result
      } catch (error) {
        if (isTimeoutError(error)) {
          throw new ProtocolError(
            REQUEST_TIMEOUT,
            `Server "${pool}" (${upstream.id}) did not answer ${what} within ${this.options.requestTimeout} ms`,
          )
        }
        if (caller.signal.aborted || !isConnectionError(error)) throw error
        upstream.markBroken(error)
        lastError = error
      } finally {
        upstream.inflight--
        callers.splice(callers.indexOf(caller), 1)
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
    throw new ProtocolError(
      INTERNAL_ERROR,
      `Server "${pool}" could not serve ${what}: ${lastError ? (lastError as Error).message : 'no healthy member'}. Members: ${states || 'none'}.`,
    )
  }

  /** The params sent upstream: the caller's own `_meta` keys go along, the progress token is the SDK's. */
  private upstreamParams(params: Params, caller: Caller, upstream: Upstream): Params {
    const { _meta: _ignored, inputResponses: _responses, requestState: _state, ...rest } = params
    const meta: Params = { ...caller.meta }
    if (upstream.era === 'modern' && caller.era === 'modern') {
      // The upstream answers for the client at the front: its log level and what it can do.
      if (caller.logLevel) meta['io.modelcontextprotocol/logLevel'] = caller.logLevel
      meta['io.modelcontextprotocol/clientCapabilities'] = caller.clientCapabilities ?? {}
    } else if (upstream.era === 'modern') {
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
  private interactive(pool: string, what: string, method: string, params: Params, exposed: Params, caller: Caller) {
    if (caller.era !== 'modern') {
      return this.forward(pool, what, caller, (upstream, options) =>
        upstream.era === 'modern'
          ? this.roundsForLegacy(upstream, method, params, caller, options)
          : upstream.client!.request({ method, params: this.upstreamParams(params, caller, upstream) } as never, PassThrough, options),
      )
    }
    const digest = requestDigest(method, exposed)
    const state = caller.state
    if (state && state.request !== digest) {
      throw new ProtocolError(INVALID_PARAMS, 'Invalid requestState: it was issued for another request.')
    }
    return this.forward(
      pool,
      what,
      caller,
      async (upstream, options) => {
        if (upstream.era === 'modern') {
          const sent = {
            ...this.upstreamParams(params, caller, upstream),
            ...(caller.inputResponses ? { inputResponses: caller.inputResponses } : {}),
            ...(state?.state !== undefined ? { requestState: state.state } : {}),
          }
          const result = (await upstream.client!.request({ method, params: sent } as never, PassThrough, {
            ...options,
            allowInputRequired: true,
          })) as Params
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
        return this.replayOnLegacy(upstream, method, params, caller, options, digest)
      },
      state?.upstream,
    )
  }

  /**
   * A 2025 client and a 2026 upstream: each `input_required` round's requests go to this very caller's
   * session as server-to-client requests, and the call is retried with the answers and the upstream's state.
   */
  private async roundsForLegacy(upstream: Upstream, method: string, params: Params, caller: Caller, options: RequestOptions) {
    const base = this.upstreamParams(params, caller, upstream)
    let round: Params = {}
    for (let rounds = 0; rounds < MAX_ROUNDS; rounds++) {
      const result = (await upstream.client!.request({ method, params: { ...base, ...round } } as never, PassThrough, {
        ...options,
        allowInputRequired: true,
      })) as Params
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
    options: RequestOptions,
    digest: string,
  ): Promise<Params> {
    const answers: Params = { ...caller.state?.answers }
    for (const [key, value] of Object.entries(caller.inputResponses ?? {})) if (/^r\d+$/.test(key)) answers[key] = value
    const replay: Replay = { answers, next: 0, abort: new AbortController() }
    caller.replay = replay
    const signal = AbortSignal.any([caller.signal, replay.abort.signal])
    try {
      return (await upstream.client!.request(
        { method, params: this.upstreamParams(params, caller, upstream) } as never,
        PassThrough,
        { ...options, signal },
      )) as Params
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
    if (!route) throw new ProtocolError(INVALID_PARAMS, `Unknown tool "${name}".`)
    return this.interactive(route.pool, `tools/call "${name}"`, 'tools/call', { ...params, name: route.name }, params, caller)
  }

  readResource(params: Params, caller: Caller) {
    const uri = params.uri as string
    const pool = this.resourcePool(uri)
    if (!pool) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri })
    return this.interactive(pool, `resources/read "${uri}"`, 'resources/read', params, params, caller)
  }

  getPrompt(params: Params, caller: Caller) {
    const name = params.name as string
    const route = this.promptRoutes.get(name)
    if (!route) throw new ProtocolError(INVALID_PARAMS, `Unknown prompt "${name}".`)
    return this.interactive(route.pool, `prompts/get "${name}"`, 'prompts/get', { ...params, name: route.name }, params, caller)
  }

  complete(params: Params, caller: Caller) {
    const ref = params.ref as { type: string; name?: string; uri?: string }
    const route = ref.type === 'ref/prompt' ? this.promptRoutes.get(ref.name ?? '') : undefined
    const pool = route?.pool ?? (ref.type === 'ref/resource' ? this.resourcePool(ref.uri ?? '') : undefined)
    if (!pool) return { completion: { values: [] } }
    const sent = route ? { ...params, ref: { ...ref, name: route.name } } : params
    return this.forward(pool, 'completion/complete', caller, (upstream, options) =>
      upstream.client!.request(
        { method: 'completion/complete', params: this.upstreamParams(sent, caller, upstream) } as never,
        PassThrough,
        options,
      ),
    )
  }

  /** Asks every member of the owning pool for updates about `uri` (whichever replica notices a change). */
  async subscribeUpstream(uri: string): Promise<boolean> {
    const pool = this.resourcePool(uri)
    if (!pool) return false
    await Promise.allSettled(this.members(pool).map((u) => u.subscribeResource(uri)))
    return true
  }

  async subscribe(session: LegacySession, uri: string) {
    if (!(await this.subscribeUpstream(uri))) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri })
    const uris = this.subscriptions.get(session) ?? new Set()
    uris.add(uri)
    this.subscriptions.set(session, uris)
    return {}
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

  listChanged(_upstream: Upstream, kind: 'tools' | 'resources' | 'prompts'): void {
    if (this.rebuild()) this.announce([kind])
  }

  statusChanged(): void {
    if (this.rebuild()) this.announce(['tools', 'prompts', 'resources'])
  }

  log(upstream: Upstream, params: Record<string, unknown>): void {
    const message = { ...params, logger: (params.logger as string | undefined) ?? upstream.pool }
    const callers = this.callers.get(upstream) ?? []
    // A log sent during a call goes to the client that made it; other logs go to every 2025 session.
    if (callers.length) {
      for (const caller of new Set(callers)) {
        const threshold = caller.era === 'modern' ? caller.logLevel : (caller.logLevel ?? 'debug')
        if (!atLeast(params.level as string, threshold)) continue
        void caller.notify({ method: 'notifications/message', params: message }).catch(() => {})
      }
    } else {
      for (const session of this.sessions) void session.sendLoggingMessage(message as never).catch(() => {})
    }
  }

  resourceUpdated(_upstream: Upstream, uri: string): void {
    for (const [session, uris] of this.subscriptions) {
      if (uris.has(uri)) void session.sendResourceUpdated({ uri }).catch(() => {})
    }
    for (const notifier of this.notifiers) notifier.resourceUpdated(uri)
  }

  async clientRequest(upstream: Upstream, request: { method: string; params?: Record<string, unknown> }) {
    const caller = this.callers.get(upstream)?.at(-1)
    if (!caller) {
      throw new ProtocolError(INVALID_REQUEST, `${request.method} needs a client call in progress to answer it.`)
    }
    const replay = caller.replay
    if (replay) {
      const key = `r${replay.next++}`
      if (key in replay.answers) return replay.answers[key]
      const needed = capabilityFor(request)
      if (needed && !declares(caller.clientCapabilities, needed)) {
        replay.missing = needed
        replay.abort.abort()
        throw new ProtocolError(INVALID_REQUEST, `The client did not declare the capability ${request.method} needs.`)
      }
      replay.needed = { [key]: { method: request.method, params: request.params ?? {} } }
      replay.abort.abort()
      throw new ProtocolError(INVALID_REQUEST, `${request.method} is asked of the client; the call resumes on its retry.`)
    }
    if (!caller.request) {
      throw new ProtocolError(INVALID_REQUEST, `${request.method} cannot reach this client.`)
    }
    return caller.request(request)
  }
}

/** True when a log at `level` passes a client's threshold (`undefined` threshold: nothing passes). */
function atLeast(level: string | undefined, threshold: string | undefined): boolean {
  if (!threshold) return false
  return LOG_LEVELS.indexOf(level ?? 'info') >= LOG_LEVELS.indexOf(threshold)
}
