import {
  Client,
  SdkError,
  SdkErrorCode,
  SSEClientTransport,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SseError,
  type DiscoverResult,
  type McpSubscription,
  type Prompt,
  type Resource,
  type ResourceTemplateType as ResourceTemplate,
  type Tool,
  type Transport,
} from '@modelcontextprotocol/client'
import { withActiveTraceHeaders } from '../telemetry/tracing.js'
import { APPS_EXTENSION } from './apps.js'
import { CallStats } from './call-stats.js'
import type { ForwardOptions } from './cancellation.js'
import { asGatewayResult, DirectRequestsTransport } from './direct-requests.js'
import { classifyFailure, httpStatusFailure, redact, secretsOf, upstreamErrorText, UpstreamTransportError } from './errors.js'
import { HttpClientTransport } from './http-client.js'
import { authorizesPerCaller, type UpstreamAuthority } from './upstream-auth/index.js'
import { LIMIT_DEFAULTS, Semaphore } from './limits.js'
import { readList, type ListKey, type ListLimits, type ListPageRequest } from './list-intake.js'
import { SessionResumingTransport } from './session-resume.js'
import { ChildProcessTransport, resolveChildCwd } from './stdio-child.js'
import type { Registration, ServerInfo, UpstreamStatus } from './types.js'

/** What an upstream asks of the gateway: list changes, notifications and requests to pass to clients. */
export interface UpstreamEvents {
  listChanged(upstream: Upstream, kind: 'tools' | 'resources' | 'prompts'): void
  statusChanged(upstream: Upstream): void
  log(upstream: Upstream, params: Record<string, unknown>): void
  resourceUpdated(upstream: Upstream, uri: string): void
  /** A 2025 task's `notifications/tasks/status`. */
  taskStatus?(upstream: Upstream, params: Record<string, unknown>): void
  /** A sampling, elicitation or roots request from the server, for the client whose call is running (or whose own connection it is). */
  clientRequest(upstream: Upstream, request: { method: string; params?: Record<string, unknown> }, signal?: AbortSignal): Promise<unknown>
}

export interface UpstreamTiming {
  connectTimeout: number
  reconnectDelay: number
  unhealthyThreshold: number
  /** Requests sent to this member at once; more wait in a queue (default 64). */
  maxConcurrent?: number
  /** Largest result or stdio line accepted from this member (default 8 MiB). */
  maxResultBytes?: number
  /** `on-demand`: a lost connection is opened again by the next request only (within its backoff), never in the background. */
  reconnect?: 'background' | 'on-demand'
  /** How much of each list is taken from this member (default LIMIT_DEFAULTS). */
  lists?: ListLimits
  /** Protected upstreams (`connection.auth`): wraps their HTTP transport to carry tokens. */
  upstreamAuth?: UpstreamAuthority
}

/** The protocol era an upstream was found to speak: 2026-07-28 per request, or 2025-11-25 sessions. */
export type UpstreamEra = 'modern' | 'legacy'

/** Cache hints of a list result (2026-07-28): how long and for whom it may be reused. */
export interface CacheHint {
  ttlMs?: number
  cacheScope?: 'public' | 'private'
}

const MAX_RECONNECT_DELAY = 30_000
/** How long a connection must stay up before its loss starts the reconnect backoff over. */
export const STABLE_CONNECTION_MS = 30_000
/** Connections in a row lost before STABLE_CONNECTION_MS that make a member a crash loop. */
const CRASH_LOOP = 3
const GATEWAY_INFO = { name: 'airmcp-gateway', version: '1' }
/** What the gateway can relay to a client; each request is answered only if that client declared it (Router.clientRequest). */
const GATEWAY_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true }, extensions: APPS_EXTENSION }

/**
 * fetch for the SSE client: its POSTs carry the transport's long-lived abort signal, on which Node 20's
 * undici leaves one listener per request (thousands under load); a POST is short and needs none.
 */
const postWithoutSharedSignal: typeof fetch = async (url, init) => {
  if (init?.method !== 'POST') return fetch(url, init)
  const response = await fetch(url, { ...init, signal: undefined, headers: withActiveTraceHeaders(init.headers) })
  if (response.ok) return response
  // What a refused POST means is said by type (errors.ts), not in the SDK's words quoting the body.
  await response.body?.cancel().catch(() => {})
  throw httpStatusFailure(response.status, redact(String(url)), response.headers.get('retry-after'))
}

/** The URL an SSE registration connects to: a bare base URL means its `/sse` endpoint. */
export function sseEndpoint(url: string): URL {
  const parsed = new URL(url)
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/sse'
  return parsed
}

/** Errors that say the connection failed (worth another replica), as opposed to the server's own answer. */
export function isConnectionError(error: unknown): boolean {
  return classifyFailure(error) === 'transport'
}

/** True for a timeout raised by the SDK client (v1 and v2 spell it differently). */
export function isTimeoutError(error: unknown): boolean {
  return (
    (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) ||
    (error instanceof Error && (error as { code?: unknown }).code === -32001)
  )
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** What a legacy SSE client reports when its stream ended or carried something that is not JSON-RPC. */
function isStreamFailure(error: unknown): boolean {
  return error instanceof SseError || error instanceof SyntaxError || (error as Error | undefined)?.name === 'ZodError'
}

/**
 * One registration: its MCP client, its status, what it serves, and reconnection with backoff. Each
 * connect probes the server once (`server/discover`, falling back to `initialize`); the verdict is kept
 * for the life of the connection and decides which era every forwarded request speaks.
 */
export class Upstream {
  status: UpstreamStatus = 'connecting'
  lastError: string | undefined
  tools: Tool[] = []
  resources: Resource[] = []
  resourceTemplates: ResourceTemplate[] = []
  prompts: Prompt[] = []
  /** Cache hints of the last list results, per kind (modern upstreams send them). */
  readonly cacheHints = new Map<'tools' | 'resources' | 'resourceTemplates' | 'prompts', CacheHint>()
  /** Calls in flight, for least-connections. */
  inflight = 0
  /** Calls, errors and median latency since start (`/health`, `airmcp status`). */
  readonly stats = new CallStats()
  client: Client | undefined
  /**
   * A 2025 session with the same server when it serves both revisions over Streamable HTTP: 2025 callers
   * are forwarded on it in their own revision (questions as server-to-client requests, the tool run once),
   * instead of being bridged to 2026 input rounds. Lists, health and 2026 callers use `client`.
   */
  sessionClient: Client | undefined
  /** The probe's verdict for the current connection; cleared when the connection is lost. */
  era: UpstreamEra | undefined
  discover: DiscoverResult | undefined
  /** The server's `instructions` of its last connection (initialize or server/discover result). */
  instructions: string | undefined
  private failures = 0
  private attempts = 0
  private reconnectTimer: NodeJS.Timeout | undefined
  /** When the current connection came up (0: none is up). */
  private connectedAt = 0
  /** Connections in a row lost before STABLE_CONNECTION_MS. */
  private shortLived = 0
  /** A member in a crash loop is not reconnected on demand before this time (its backoff). */
  private notBefore = 0
  private connecting: Promise<void> | undefined
  private stopped = false
  private subscription: McpSubscription | undefined
  /** Each connection's transport when the gateway owns it: forwarded requests go there directly. */
  private readonly direct = new WeakMap<Client, DirectRequestsTransport>()
  private readonly subscribedUris = new Set<string>()
  /** The list_changed refetch running per kind, and whether another was asked for meanwhile. */
  private readonly refetching = new Map<'tools' | 'resources' | 'prompts', { again: boolean }>()
  /** Bounds what this member is sent at once, so one client's batch cannot flood it. */
  readonly slots: Semaphore
  /** Values that must not appear in errors, logs or /health (header values, URL credentials). */
  readonly secrets: string[]

  constructor(
    readonly registration: Registration,
    private readonly events: UpstreamEvents,
    private readonly timing: UpstreamTiming,
  ) {
    this.slots = new Semaphore(timing.maxConcurrent ?? 64)
    this.secrets = secretsOf(registration.connection as { url?: string; headers?: Record<string, string> })
  }

  get id(): string {
    return this.registration.id
  }

  get pool(): string {
    return this.registration.name
  }

  /** The protocol revision spoken to this upstream, once connected. */
  get protocolVersion(): string | undefined {
    return this.client?.getNegotiatedProtocolVersion()
  }

  info(): ServerInfo {
    return {
      id: this.id,
      name: this.pool,
      transport: this.registration.transport ?? this.registration.connection.type,
      status: this.status,
      tools: this.tools.map((t) => t.name),
      lastError: this.lastError,
      protocolVersion: this.protocolVersion,
      ...this.stats.snapshot(),
    }
  }

  private createTransport(): Transport {
    const connection = this.registration.connection
    switch (connection.type) {
      case 'sse':
        return new SSEClientTransport(sseEndpoint(connection.url), {
          requestInit: { headers: connection.headers },
          fetch: postWithoutSharedSignal,
        })
      case 'http':
      case 'streamable-http':
        return this.directWithAuth(
          new HttpClientTransport(new URL(connection.url), connection.headers, this.timing.maxResultBytes, (name) =>
            this.tools.find((tool) => tool.name === name)?.inputSchema,
          ) as unknown as Transport,
        )
      case 'stdio':
        return new DirectRequestsTransport(
          inOrder(
            new ChildProcessTransport({
              label: this.id,
              command: connection.command === 'node' ? process.execPath : connection.command,
              args: connection.args ?? [],
              env: connection.env,
              cwd: resolveChildCwd(connection.args ?? [], connection.cwd),
              maxLineBytes: this.timing.maxResultBytes,
            }) as unknown as Transport,
          ),
        )
      default:
        throw new Error(
          `Registration "${this.id}": unknown connection type ${JSON.stringify((connection as { type: unknown }).type)}. ` +
            'Try this: sse, http or stdio.',
        )
    }
  }

  /** Connects once (probe, handshake, then lists what the server offers); on failure schedules a retry. */
  connect(): Promise<void> {
    this.connecting ??= this.attemptConnect().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private lastOnDemand = 0

  /**
   * A connect asked for by a call that found no member up: joins one in progress, and starts at most one a
   * second (calls to a server that stays down must not become a stream of connection attempts).
   */
  connectOnDemand(): Promise<void> {
    if (this.connecting || this.stopped) return this.connecting ?? Promise.resolve()
    if (Date.now() - this.lastOnDemand < 1000 || Date.now() < this.notBefore) return Promise.resolve()
    this.lastOnDemand = Date.now()
    return this.connect()
  }

  private newClient(): Client {
    return new Client(GATEWAY_INFO, {
      capabilities: GATEWAY_CAPABILITIES,
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: this.timing.connectTimeout } },
    })
  }

  private async attemptConnect(): Promise<void> {
    clearTimeout(this.reconnectTimer)
    const client = this.newClient()
    this.wire(client)
    try {
      let transport = this.createTransport()
      const connection = this.registration.connection
      const overHttp = connection.type === 'http' || connection.type === 'streamable-http'
      const pinnedLegacy = this.registration.protocol === '2025-11-25'
      let probeFailed = false
      try {
        if (pinnedLegacy && overHttp) probeFailed = true
        else await client.connect(transport, { ...(pinnedLegacy ? { prior: { kind: 'legacy' as const } } : {}), timeout: this.timing.connectTimeout })
      } catch (error) {
        // fetch refuses some URLs the gateway's own client takes (credentials in the URL): that client, as 2025, decides.
        if (!overHttp) throw error
        probeFailed = true
      }
      let connected = client
      // A 2025 server over Streamable HTTP is reached faster by the gateway's own keep-alive client.
      if (overHttp && (probeFailed || client.getProtocolEra() === 'legacy')) {
        await client.close().catch(() => {})
        connected = this.newClient()
        this.wire(connected)
        // A restarted upstream forgets its sessions: start a new one and repeat the call, unseen by clients.
        transport = this.sessionTransport()
        await connected.connect(transport, { prior: { kind: 'legacy' }, timeout: this.timing.connectTimeout })
      }
      if (this.stopped) {
        await connected.close()
        return
      }
      this.client = connected
      this.era = connected.getProtocolEra() === 'modern' ? 'modern' : 'legacy'
      this.goDirect(connected, transport)
      this.discover = connected.getDiscoverResult()
      this.instructions = connected.getInstructions() ?? this.discover?.instructions
      await this.refresh()
      if (this.era === 'modern') await this.listen()
      if (this.era === 'modern' && overHttp && !authorizesPerCaller(connection)) this.sessionClient = await this.openSessionClient()
      // The backoff is not reset yet: a child that dies right after each connect must not respawn at full speed.
      this.connectedAt = Date.now()
      this.failures = 0
      this.lastError = undefined
      this.setStatus('connected')
    } catch (error) {
      await client.close().catch(() => {})
      this.fail(`connect failed: ${messageOf(error)}`)
    }
  }

  /**
   * A 2025 Streamable HTTP session on the gateway's own keep-alive client; a restarted upstream forgets its
   * sessions, so a new one is started and the call repeated, unseen by clients.
   */
  private sessionTransport(): Transport {
    const connection = this.registration.connection as { url: string; headers?: Record<string, string> }
    return new DirectRequestsTransport(
      new SessionResumingTransport(
        this.withAuth(new HttpClientTransport(new URL(connection.url), connection.headers, this.timing.maxResultBytes) as unknown as Transport),
      ) as unknown as Transport,
    )
  }

  /** A protected upstream's HTTP transport carries the tokens its requests need (upstream-auth/). */
  private withAuth(transport: Transport): Transport {
    return this.timing.upstreamAuth?.wrap(this.registration.connection, transport) ?? transport
  }

  private directWithAuth(transport: Transport): DirectRequestsTransport {
    return new DirectRequestsTransport(this.withAuth(transport))
  }

  /** Forwarded requests on this connection skip the SDK client when the gateway owns its transport (direct-requests.ts). */
  private goDirect(client: Client, transport: Transport): void {
    if (!(transport instanceof DirectRequestsTransport)) return
    const version = client.getNegotiatedProtocolVersion()
    transport.envelope =
      client.getProtocolEra() === 'modern' && version
        ? { [PROTOCOL_VERSION_META_KEY]: version, [CLIENT_INFO_META_KEY]: GATEWAY_INFO, [CLIENT_CAPABILITIES_META_KEY]: GATEWAY_CAPABILITIES }
        : undefined
    this.direct.set(client, transport)
  }

  /**
   * Sends a forwarded request on the connection, or on the 2025 session beside it (`onSession`), and
   * resolves with the result as the server sent it (`input_required` included).
   */
  request(method: string, params: Record<string, unknown>, options: ForwardOptions, onSession = false): Promise<Record<string, unknown>> {
    const client = onSession ? this.sessionClient : this.client
    if (!client) return Promise.reject(new SdkError(SdkErrorCode.NotConnected, 'Not connected'))
    const direct = this.direct.get(client)
    if (direct) return direct.request(method, params, options)
    const { cancellation, ...sdkOptions } = options
    const signal = options.signal ?? cancellation?.signal
    const result = client.request({ method, params } as never, PassThrough, { ...sdkOptions, signal, allowInputRequired: true })
    return (result as Promise<Record<string, unknown>>).then(asGatewayResult)
  }

  /** The 2025 session beside a 2026 connection; undefined when the server refuses 2025 clients (strict 2026). */
  private async openSessionClient(): Promise<Client | undefined> {
    const client = this.newClient()
    this.wire(client)
    // List changes already arrive on the 2026 connection's listen stream: one refresh each, not two.
    for (const kind of ['tools', 'resources', 'prompts']) client.removeNotificationHandler(`notifications/${kind}/list_changed`)
    client.onclose = () => {
      if (this.sessionClient === client) this.sessionClient = undefined
    }
    const transport = this.sessionTransport()
    try {
      await client.connect(transport, { prior: { kind: 'legacy' }, timeout: this.timing.connectTimeout })
      this.goDirect(client, transport)
      if (!this.stopped) return client
      await client.close().catch(() => {})
      return undefined
    } catch {
      await client.close().catch(() => {})
      return undefined
    }
  }

  private closeSessionClient(): void {
    const client = this.sessionClient
    this.sessionClient = undefined
    void client?.close().catch(() => {})
  }

  private wire(client: Client): void {
    client.onclose = () => {
      if (this.client === client) {
        this.client = undefined
        this.fail('connection closed')
      }
    }
    // A legacy SSE stream that ended (the server stopped) or carried garbage, or a Streamable HTTP server no
    // longer listening where its notification stream was: out of the pool now, reconnecting, rather than at
    // the next health ping.
    client.onerror = (error) => {
      if (this.client !== client || this.status !== 'connected') return
      if (this.registration.connection.type === 'sse' && isStreamFailure(error)) this.markBroken(new Error(`the SSE stream failed: ${messageOf(error)}`))
      else if (error instanceof UpstreamTransportError) this.markBroken(error)
    }
    const refresh = (kind: 'tools' | 'resources' | 'prompts') => () => this.refetch(kind)
    client.setNotificationHandler('notifications/tools/list_changed', refresh('tools'))
    client.setNotificationHandler('notifications/resources/list_changed', refresh('resources'))
    client.setNotificationHandler('notifications/prompts/list_changed', refresh('prompts'))
    client.setNotificationHandler('notifications/message', (n) => this.events.log(this, n.params as Record<string, unknown>))
    client.setNotificationHandler('notifications/resources/updated', (n) => this.events.resourceUpdated(this, n.params.uri))
    client.setNotificationHandler('notifications/tasks/status' as never, ((n: { params: Record<string, unknown> }) => this.events.taskStatus?.(this, n.params)) as never)
    // Legacy servers push these during a call; for modern ones the SDK turns an `input_required` answer
    // into the same calls when the gateway's own client is a 2025 one (see Router.forward).
    client.setRequestHandler('sampling/createMessage', (request, ctx) => this.events.clientRequest(this, request, ctx.mcpReq.signal) as never)
    client.setRequestHandler('elicitation/create', (request, ctx) => this.events.clientRequest(this, request, ctx.mcpReq.signal) as never)
    client.setRequestHandler('roots/list', (request, ctx) => this.events.clientRequest(this, request, ctx.mcpReq.signal) as never)
  }

  /** Tells the server its client's roots changed (`notifications/roots/list_changed`); it asks for them again. */
  async rootsChanged(): Promise<void> {
    await this.client?.sendRootsListChanged()
  }

  /**
   * A modern upstream sends notifications only on a `subscriptions/listen` stream: one stream per upstream
   * carries list changes and the resource URIs clients subscribed to. Best effort: a server without it
   * still serves calls.
   */
  private async listen(): Promise<void> {
    const client = this.client
    if (!client || this.era !== 'modern') return
    const caps = client.getServerCapabilities() ?? {}
    const previous = this.subscription
    try {
      const subscription = await client.listen({
        ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
        ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
        ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
        ...(this.subscribedUris.size && caps.resources ? { resourceSubscriptions: [...this.subscribedUris] } : {}),
      })
      this.subscription = subscription
      // The server ended the stream (it is stopping, it restarted, the stream broke): listen again (after a
      // second when the stream was short-lived); if nobody answers then, the server is gone.
      const opened = Date.now()
      void subscription.closed.then((cause) => {
        if (cause === 'local') return
        const again = () => this.subscription === subscription && this.client === client && void this.listen()
        setTimeout(again, Date.now() - opened > 1000 ? 0 : 1000).unref()
      })
    } catch (error) {
      const gone = this.client === client && this.status === 'connected' && classifyFailure(error) === 'transport'
      if (gone) this.markBroken(error)
      else this.lastError = `subscriptions/listen failed: ${messageOf(error)}`
    }
    await previous?.close().catch(() => {})
  }

  /** True when the server was asked for updates about some resource. */
  get subscribed(): boolean {
    return this.subscribedUris.size > 0
  }

  /** Asks the server for `notifications/resources/updated` about `uri`, in the era it speaks. */
  async subscribeResource(uri: string): Promise<void> {
    const client = this.client
    const resources = client?.getServerCapabilities()?.resources
    if (!client || !resources || this.subscribedUris.has(uri)) return
    // A 2026 server says in its listen acknowledgement which URIs it honours; a 2025 one must declare it.
    if (this.era === 'modern') {
      this.subscribedUris.add(uri)
      await this.listen()
    } else if (resources.subscribe) {
      this.subscribedUris.add(uri)
      await client.subscribeResource({ uri })
    }
  }

  /**
   * A list_changed: one refetch of that kind at a time, and a burst of them while it runs makes one more
   * after it (the last one sees the newest list), so a server re-announcing costs at most two listings.
   */
  private refetch(kind: 'tools' | 'resources' | 'prompts'): void {
    const running = this.refetching.get(kind)
    if (running) {
      running.again = true
      return
    }
    const state = { again: true }
    this.refetching.set(kind, state)
    void (async () => {
      // A refresh that fails leaves the last lists in place; the health check deals with a dead server.
      while (state.again) {
        state.again = false
        await this.refresh(kind).catch((error) => (this.lastError = redact(`refreshing ${kind} failed: ${messageOf(error)}`, this.secrets)))
      }
      this.refetching.delete(kind)
    })()
  }

  /**
   * Re-reads what the server offers (all of it, or one kind after a list_changed), within the list limits
   * and one `connectTimeout` for all the pages (list-intake.ts).
   */
  async refresh(kind?: 'tools' | 'resources' | 'prompts'): Promise<void> {
    const client = this.client
    if (!client) return
    const caps = client.getServerCapabilities() ?? {}
    const deadline = Date.now() + this.timing.connectTimeout
    const pages = async (method: string, key: ListKey) => {
      const request: ListPageRequest = (cursor, timeout) =>
        client.request({ method, params: cursor ? { cursor } : {} } as never, PassThrough, { timeout }) as Promise<Record<string, unknown>>
      const read = await readList(this.id, method, key, request, this.timing.lists ?? LIMIT_DEFAULTS, deadline)
      this.cacheHints.set(key, mergeCacheHints(read.hints))
      return read.items
    }
    if ((!kind || kind === 'tools') && caps.tools) this.tools = (await pages('tools/list', 'tools')) as Tool[]
    if ((!kind || kind === 'resources') && caps.resources) {
      this.resources = (await pages('resources/list', 'resources')) as Resource[]
      this.resourceTemplates = (await pages('resources/templates/list', 'resourceTemplates')) as ResourceTemplate[]
    }
    if ((!kind || kind === 'prompts') && caps.prompts) this.prompts = (await pages('prompts/list', 'prompts')) as Prompt[]
    if (kind) this.events.listChanged(this, kind)
  }

  /** A health ping; enough failures in a row take the server out of its pool until it reconnects. */
  async checkHealth(timeout: number): Promise<void> {
    const client = this.client
    if (!client || this.status !== 'connected') return
    try {
      // 2026-07-28 has no ping: a modern server is asked `server/discover`, which also refreshes its advertisement.
      if (this.era === 'modern') this.discover = await client.discover({ timeout })
      else await client.ping({ timeout })
      this.failures = 0
    } catch (error) {
      if (++this.failures >= this.timing.unhealthyThreshold) {
        this.client = undefined
        void client.close().catch(() => {})
        this.fail(`health check failed: ${messageOf(error)}`)
      }
    }
  }

  /** Marks the server down after a failed call on the connection; it reconnects in the background. */
  markBroken(error: unknown): void {
    if (this.status !== 'connected') return
    const client = this.client
    this.client = undefined
    void client?.close().catch(() => {})
    this.fail(`call failed: ${messageOf(error)}`)
  }

  /**
   * Closes the connection and opens a new one at once (a server restarted by its supervisor, a rebuilt
   * stdio child), then tells the router, which sends `list_changed` if what the server offers changed.
   */
  async reconnect(): Promise<void> {
    if (this.stopped) return
    await this.connecting?.catch(() => {})
    const client = this.client
    this.client = undefined
    this.closeSessionClient()
    await client?.close().catch(() => {})
    this.attempts = 0
    await this.connect()
    this.events.statusChanged(this)
  }

  private fail(reason: string): void {
    this.closeSessionClient()
    this.lastError = upstreamErrorText(reason, this.secrets)
    // The verdict belongs to the lost connection: the next connect probes again.
    this.era = undefined
    this.discover = undefined
    this.subscription = undefined
    this.setStatus('error')
    if (this.stopped) return
    // A connection that stayed up a while starts the backoff over; one lost soon after it came up (a crash
    // loop) keeps it growing, and calls that find the member down do not reconnect it sooner either.
    if (this.connectedAt) {
      const stable = Date.now() - this.connectedAt >= STABLE_CONNECTION_MS
      this.shortLived = stable ? 0 : this.shortLived + 1
      if (stable) this.attempts = 0
      this.connectedAt = 0
    }
    const delay = Math.min(this.timing.reconnectDelay * 2 ** this.attempts++, MAX_RECONNECT_DELAY)
    this.notBefore = this.shortLived >= CRASH_LOOP ? Date.now() + delay : 0
    clearTimeout(this.reconnectTimer)
    if (this.timing.reconnect === 'on-demand') return
    this.reconnectTimer = setTimeout(() => void this.connect(), delay)
    this.reconnectTimer.unref()
  }

  private setStatus(status: UpstreamStatus): void {
    if (this.status === status) return
    this.status = status
    this.events.statusChanged(this)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.reconnectTimer)
    await this.connecting?.catch(() => {})
    const client = this.client
    this.client = undefined
    this.closeSessionClient()
    await this.subscription?.close().catch(() => {})
    await client?.close().catch(() => {})
  }
}

/**
 * Spaces out messages a transport delivers in one burst (several read from one chunk of a pipe): the SDK
 * v2 client dispatches notifications and requests a turn later than responses, so a response read in the
 * same tick would overtake the notifications sent before it. Only what follows a notification or request
 * waits: a burst of responses (many calls answered at once) is delivered as it comes.
 */
function inOrder(transport: Transport): Transport {
  let queue: Promise<void> | undefined
  let afterMethod = false
  return new Proxy(transport, {
    set(target, key, value) {
      if (key !== 'onmessage' || typeof value !== 'function') return Reflect.set(target, key, value)
      const deliver = value as (...args: unknown[]) => void
      return Reflect.set(target, key, (...args: unknown[]) => {
        if (!afterMethod && !queue) {
          if ((args[0] as { method?: unknown }).method !== undefined) {
            afterMethod = true
            queueMicrotask(() => (afterMethod = false))
          }
          return deliver(...args)
        }
        queue = (queue ?? Promise.resolve())
          .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
          .then(() => deliver(...args))
        const settled = queue
        void settled.then(() => {
          if (queue === settled) queue = undefined
        })
      })
    },
  })
}

/** Forwarded results are passed on as the server sent them: the client that asked validates them. */
export const PassThrough = {
  '~standard': {
    version: 1 as const,
    vendor: 'airmcp',
    validate: (value: unknown) =>
      value !== null && typeof value === 'object'
        ? { value: value as Record<string, unknown> }
        : { issues: [{ message: 'Expected a result object' }] },
  },
}

/**
 * Conservative merge of cache hints: the smallest `ttlMs` (absent or negative counts as 0, as the spec
 * says a client should read it), and `private` if any part is private or says nothing.
 */
export function mergeCacheHints(hints: CacheHint[]): Required<CacheHint> {
  let ttlMs = Infinity
  let cacheScope: 'public' | 'private' = 'public'
  for (const hint of hints) {
    ttlMs = Math.min(ttlMs, typeof hint.ttlMs === 'number' && hint.ttlMs > 0 ? Math.floor(hint.ttlMs) : 0)
    if (hint.cacheScope !== 'public') cacheScope = 'private'
  }
  return { ttlMs: ttlMs === Infinity ? 0 : ttlMs, cacheScope }
}
