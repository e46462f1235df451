// An upstream member: its connection's lifecycle (probe, handshake, the 2025 session beside a 2026 connection (upstream-sessions.ts), reconnect, stop), its notification handlers and forwarded requests.
import {
  Client,
  SdkError,
  SdkErrorCode,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SseError,
  type Transport,
} from '@modelcontextprotocol/client'
import type { ForwardOptions } from '../calls/index.js'
import { asGatewayResult, DirectRequestsTransport } from './direct-requests.js'
import { messageOf, secretsOf, UpstreamTransportError } from '../errors.js'
import { Semaphore } from '../security/index.js'
import type { Registration, ServerInfo } from '../types.js'
import type { UpstreamTiming } from './upstream-health.js'
import { PassThrough } from './upstream-lists.js'
import { namesOnFreshSession, namesPerRequest } from './profile-lists.js'
import { capabilitiesOf, FULL_PROFILE, type OfferedNames } from './profiles.js'
import { offeredToolName } from '../names/index.js'
import { UpstreamSessions } from './upstream-sessions.js'
import { authorizesPerCaller } from './auth/index.js'
import { createTransport, GATEWAY_CAPABILITIES, GATEWAY_INFO, newClient, sessionTransport } from './upstream-transports.js'

// Parts of the old upstream module still imported from here by the router.

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

/** What a legacy SSE client reports when its stream ended or carried something that is not JSON-RPC. */
function isStreamFailure(error: unknown): boolean {
  return error instanceof SseError || error instanceof SyntaxError || (error as Error | undefined)?.name === 'ZodError'
}

/**
 * One registration: its MCP client, its status, what it serves, and reconnection with backoff. Each
 * connect probes the server once (`server/discover`, falling back to `initialize`); the verdict is kept
 * for the life of the connection and decides which era every forwarded request speaks.
 */
export class Upstream extends UpstreamSessions {
  lastError: string | undefined
  client: Client | undefined
  /** The server's `instructions` of its last connection (initialize or server/discover result). */
  instructions: string | undefined
  /** What this connection declares: the gateway's capabilities, or (a client session's own connection) what its client declared of them. */
  capabilities: Record<string, unknown> = GATEWAY_CAPABILITIES
  private connecting: Promise<void> | undefined
  /** Each connection's transport when the gateway owns it: forwarded requests go there directly. */
  private readonly direct = new WeakMap<Client, DirectRequestsTransport>()
  /** Bounds what this member is sent at once, so one client's batch cannot flood it. */
  readonly slots: Semaphore
  /** Values that must not appear in errors, logs or /health (header values, URL credentials). */
  readonly secrets: string[]

  constructor(
    readonly registration: Registration,
    private readonly events: UpstreamEvents,
    protected readonly timing: UpstreamTiming,
  ) {
    super()
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

  private async attemptConnect(): Promise<void> {
    clearTimeout(this.reconnectTimer)
    const client = newClient(this.timing.connectTimeout, this.capabilities)
    this.wire(client)
    try {
      let transport = createTransport(this.registration, this.timing.maxResultBytes, (name) => this.tools.find((tool) => tool.name === name)?.inputSchema, this.withAuth)
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
        connected = newClient(this.timing.connectTimeout, this.capabilities)
        this.wire(connected)
        // A restarted upstream forgets its sessions: start a new one and repeat the call, unseen by clients.
        transport = sessionTransport(this.registration, this.timing.maxResultBytes, this.withAuth)
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
      const modernOnly = this.registration.protocol === '2026-07-28'
      if (this.era === 'modern' && overHttp && !authorizesPerCaller(connection) && !modernOnly) {
        this.sessionClient = await this.openSessionClient()
        this.tools = await this.withTaskSupport(this.tools)
      }
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

  /** Forwarded requests on this connection skip the SDK client when the gateway owns its transport (direct-requests.ts). */
  protected goDirect(client: Client, transport: Transport): void {
    if (!(transport instanceof DirectRequestsTransport)) return
    const version = client.getNegotiatedProtocolVersion()
    transport.envelope =
      client.getProtocolEra() === 'modern' && version
        ? { [PROTOCOL_VERSION_META_KEY]: version, [CLIENT_INFO_META_KEY]: GATEWAY_INFO, [CLIENT_CAPABILITIES_META_KEY]: this.capabilities }
        : undefined
    // Logs are read in wire order with the answers, not a turn later through the SDK client.
    transport.onlog = (params) => this.events.log(this, params)
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

  /**
   * What a client declaring the capability `profile` is offered here, by the names the registration offers
   * (profiles.ts): a 2026 server is asked per request on this connection (the full profile is what it
   * listed here), a 2025 one on a short-lived session declaring the profile.
   */
  async offeredTo(profile: number): Promise<OfferedNames> {
    const names =
      this.era !== 'modern'
        ? await namesOnFreshSession(this.registration, capabilitiesOf(profile), this.timing, this.withAuth)
        : profile === FULL_PROFILE
          ? { tools: this.tools.map((tool) => tool.name), prompts: this.prompts.map((prompt) => prompt.name) }
          : await namesPerRequest(this.id, (method, params, options) => this.request(method, params, options), this.client?.getServerCapabilities() ?? {}, capabilitiesOf(profile), this.timing)
    return { tools: names.tools.map((name) => offeredToolName(this.registration.tools, name)), prompts: names.prompts }
  }

  protected wire(client: Client): void {
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
    // Only what this connection declares (the SDK refuses a handler for the rest; the server gets Method not found, as direct).
    const declared = this.capabilities
    if (declared.sampling) client.setRequestHandler('sampling/createMessage', (request, ctx) => this.events.clientRequest(this, request, ctx.mcpReq.signal) as never)
    if (declared.elicitation) client.setRequestHandler('elicitation/create', (request, ctx) => this.events.clientRequest(this, request, ctx.mcpReq.signal) as never)
    if (declared.roots) client.setRequestHandler('roots/list', (request, ctx) => this.events.clientRequest(this, request, ctx.mcpReq.signal) as never)
  }

  /** Tells the server its client's roots changed (`notifications/roots/list_changed`); it asks for them again. */
  async rootsChanged(): Promise<void> {
    await this.client?.sendRootsListChanged()
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


  protected announceListChanged(kind: 'tools' | 'resources' | 'prompts'): void {
    this.events.listChanged(this, kind)
  }

  protected announceStatus(): void {
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
