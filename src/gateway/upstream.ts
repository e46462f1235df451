import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import { withActiveTraceHeaders } from '../telemetry/tracing.js'
import { CallStats } from './call-stats.js'
import { classifyFailure, redact, secretsOf } from './errors.js'
import { HttpClientTransport } from './http-client.js'
import { SessionResumingTransport } from './session-resume.js'
import { Semaphore } from './limits.js'
import { ChildProcessTransport, resolveChildCwd } from './stdio-child.js'
import type { Registration, ServerInfo, UpstreamStatus } from './types.js'

/** What an upstream asks of the gateway: list changes, notifications and requests to pass to clients. */
export interface UpstreamEvents {
  listChanged(upstream: Upstream, kind: 'tools' | 'resources' | 'prompts'): void
  statusChanged(upstream: Upstream): void
  log(upstream: Upstream, params: Record<string, unknown>): void
  resourceUpdated(upstream: Upstream, uri: string): void
  /** A sampling or elicitation request from the server, for the client whose call is running. */
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
}

const MAX_RECONNECT_DELAY = 30_000
const GATEWAY_INFO = { name: 'airmcp-gateway', version: '1' }

/**
 * fetch for the SSE client: its POSTs carry the transport's long-lived abort signal, on which Node 20's
 * undici leaves one listener per request (thousands under load); a POST is short and needs none.
 */
const postWithoutSharedSignal: typeof fetch = (url, init) =>
  fetch(url, init?.method === 'POST' ? { ...init, signal: undefined, headers: withActiveTraceHeaders(init.headers) } : init)

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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** What a legacy SSE client reports when its stream ended or carried something that is not JSON-RPC. */
function isStreamFailure(error: unknown): boolean {
  return error instanceof SseError || error instanceof SyntaxError || (error as Error | undefined)?.name === 'ZodError'
}

/** One registration: its MCP client, its status, what it serves, and reconnection with backoff. */
export class Upstream {
  status: UpstreamStatus = 'connecting'
  lastError: string | undefined
  tools: Tool[] = []
  resources: Resource[] = []
  resourceTemplates: ResourceTemplate[] = []
  prompts: Prompt[] = []
  /** Calls in flight, for least-connections. */
  inflight = 0
  /** Calls, errors and median latency since start (`/health`, `airmcp status`). */
  readonly stats = new CallStats()
  client: Client | undefined
  private failures = 0
  private attempts = 0
  private reconnectTimer: NodeJS.Timeout | undefined
  private connecting: Promise<void> | undefined
  private stopped = false
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

  info(): ServerInfo {
    return {
      id: this.id,
      name: this.pool,
      transport: this.registration.transport ?? this.registration.connection.type,
      status: this.status,
      tools: this.tools.map((t) => t.name),
      lastError: this.lastError,
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
        // A restarted upstream forgets its sessions: start a new one and repeat the call, unseen by clients.
        return new SessionResumingTransport(new HttpClientTransport(new URL(connection.url), connection.headers, this.timing.maxResultBytes))
      case 'stdio':
        return new ChildProcessTransport({
          label: this.id,
          command: connection.command === 'node' ? process.execPath : connection.command,
          args: connection.args ?? [],
          env: connection.env,
          cwd: resolveChildCwd(connection.args ?? [], connection.cwd),
          maxLineBytes: this.timing.maxResultBytes,
        })
      default:
        throw new Error(
          `Registration "${this.id}": unknown connection type ${JSON.stringify((connection as { type: unknown }).type)}. ` +
            'Try this: sse, http or stdio.',
        )
    }
  }

  /** Connects once (handshake, then lists what the server offers); on failure schedules a retry. */
  connect(): Promise<void> {
    this.connecting ??= this.attemptConnect().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private async attemptConnect(): Promise<void> {
    clearTimeout(this.reconnectTimer)
    const client = new Client(GATEWAY_INFO, { capabilities: { sampling: {}, elicitation: {} } })
    this.wire(client)
    try {
      const transport = this.createTransport()
      await client.connect(transport, { timeout: this.timing.connectTimeout })
      if (this.stopped) {
        await client.close()
        return
      }
      this.client = client
      await this.refresh()
      this.attempts = 0
      this.failures = 0
      this.lastError = undefined
      this.setStatus('connected')
    } catch (error) {
      await client.close().catch(() => {})
      this.fail(`connect failed: ${messageOf(error)}`)
    }
  }

  private wire(client: Client): void {
    client.onclose = () => {
      if (this.client === client) {
        this.client = undefined
        this.fail('connection closed')
      }
    }
    // A legacy SSE stream that ended (the server stopped) or carried garbage: out of the pool now, reconnecting,
    // rather than at the next health ping.
    if (this.registration.connection.type === 'sse') {
      client.onerror = (error) => {
        if (this.client === client && this.status === 'connected' && isStreamFailure(error)) {
          this.markBroken(new Error(`the SSE stream failed: ${messageOf(error)}`))
        }
      }
    }
    // A refresh that fails leaves the last lists in place; the health check deals with a dead server.
    const refresh = (kind: 'tools' | 'resources' | 'prompts') => () =>
      void this.refresh(kind).catch((error) => (this.lastError = redact(`refreshing ${kind} failed: ${messageOf(error)}`, this.secrets)))
    client.setNotificationHandler(ToolListChangedNotificationSchema, refresh('tools'))
    client.setNotificationHandler(ResourceListChangedNotificationSchema, refresh('resources'))
    client.setNotificationHandler(PromptListChangedNotificationSchema, refresh('prompts'))
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => this.events.log(this, n.params))
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) =>
      this.events.resourceUpdated(this, n.params.uri),
    )
    client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => this.events.clientRequest(this, request, extra.signal) as never)
    client.setRequestHandler(ElicitRequestSchema, (request, extra) => this.events.clientRequest(this, request, extra.signal) as never)
  }

  /** Re-reads what the server offers (all of it, or one kind after a list_changed). */
  async refresh(kind?: 'tools' | 'resources' | 'prompts'): Promise<void> {
    const client = this.client
    if (!client) return
    const caps = client.getServerCapabilities() ?? {}
    const options = { timeout: this.timing.connectTimeout }
    if ((!kind || kind === 'tools') && caps.tools) {
      this.tools = await collectPages((cursor) => client.listTools({ cursor }, options), 'tools')
    }
    if ((!kind || kind === 'resources') && caps.resources) {
      this.resources = await collectPages((cursor) => client.listResources({ cursor }, options), 'resources')
      this.resourceTemplates = await collectPages(
        (cursor) => client.listResourceTemplates({ cursor }, options),
        'resourceTemplates',
      )
    }
    if ((!kind || kind === 'prompts') && caps.prompts) {
      this.prompts = await collectPages((cursor) => client.listPrompts({ cursor }, options), 'prompts')
    }
    if (kind) this.events.listChanged(this, kind)
  }

  /** A health ping; enough failures in a row take the server out of its pool until it reconnects. */
  async checkHealth(timeout: number): Promise<void> {
    const client = this.client
    if (!client || this.status !== 'connected') return
    try {
      await client.ping({ timeout })
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
    await client?.close().catch(() => {})
    this.attempts = 0
    await this.connect()
    this.events.statusChanged(this)
  }

  private fail(reason: string): void {
    this.lastError = redact(reason, this.secrets)
    this.setStatus('error')
    if (this.stopped) return
    const delay = Math.min(this.timing.reconnectDelay * 2 ** this.attempts++, MAX_RECONNECT_DELAY)
    clearTimeout(this.reconnectTimer)
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
    await client?.close().catch(() => {})
  }
}

async function collectPages<K extends string, T>(
  list: (cursor?: string) => Promise<{ nextCursor?: string } & Record<K, T[]>>,
  key: K,
): Promise<T[]> {
  const items: T[] = []
  let cursor: string | undefined
  do {
    const page = await list(cursor)
    items.push(...page[key])
    cursor = page.nextCursor
  } while (cursor)
  return items
}
