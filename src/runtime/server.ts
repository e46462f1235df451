import { createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server'
import { serveStdio, type StdioServerHandle } from '@modelcontextprotocol/server/stdio'
import { toNodeHandler } from '@modelcontextprotocol/node'
import { startHttpHost, type HttpHost } from '../http/host.js'
import { QuietStreams } from '../http/keep-alive.js'
import { createProtectedResource, principalAuthenticator, type ResourceAuthOptions } from '../http/oauth-resource.js'
import { CallTelemetry } from '../telemetry/calls.js'
import { log as writeLog } from '../telemetry/log.js'
import type { TracingOption } from '../telemetry/tracing.js'
import { checkParamHeaders } from '../http/param-headers.js'
import { sharedSecret } from '../http/session-id.js'
import type { Plugin } from './plugin.js'
import { StdioWire } from './stdio-wire.js'
import { answerToolCallsOnWire } from './stdio-tool-calls.js'
import { failedToStart, stopOnSignals, stopWithSupervisor } from './program.js'
import { serverEnvironment, type ServerEnvironment } from '../config/environment.js'
import { answerToolCallsOverHttp } from './http-tool-calls.js'
import { answerTaskListens } from './task-listen.js'
import type { PromptDefinition } from './prompt.js'
import type { ResourceDefinition } from './resource.js'
import { createServerFactory, type CacheHints } from './session.js'
import type { ToolDefinition } from './tool.js'
import type { TaskOptions, TaskStore } from './tasks.js'

/** Where a server listens. `host` defaults to 127.0.0.1; `AIRMCP_PORT` / `AIRMCP_HOST` override both. */
export type TransportConfig =
  | { type: 'stdio' }
  | { type: 'sse'; port?: number; host?: string }
  | { type: 'http'; port?: number; host?: string; path?: string; stateless?: boolean }

export interface ServerOptions {
  name: string
  version: string
  title?: string
  description?: string
  /** Text for the client's model on how to use this server. */
  instructions?: string
  transport: TransportConfig
  /** Plugins around every tool call, outermost first. */
  use?: Plugin[]
  tools?: ToolDefinition[]
  resources?: ResourceDefinition[]
  prompts?: PromptDefinition[]
  /** HTTP transports: extra Host names accepted besides loopback (DNS-rebinding protection). */
  allowedHosts?: string[]
  /** HTTP transports: extra Origins accepted besides loopback. */
  allowedOrigins?: string[]
  /** HTTP transports: largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number
  /** HTTP transports: most concurrent client sessions (default 1000); at the cap the least recently used idle one is closed. */
  maxSessions?: number
  /** HTTP transports: most sessions one remote address may hold (default: half of maxSessions). */
  maxSessionsPerClient?: number
  /** HTTP transports: how long a client may take to send a request's headers and body, in ms (default 30 000). */
  requestReadTimeout?: number
  /** HTTP transports: require `Authorization: Bearer <token>`. */
  authToken?: string
  /**
   * HTTP transports: an OAuth 2.1 protected resource (MCP authorization): requests need an access token
   * from `issuer` for `audience`; a tool handler reads the caller as `ctx.auth`. Replaces `authToken` on
   * the MCP endpoint (which then guards only `/metrics`).
   */
  auth?: ResourceAuthOptions
  /** Streamable HTTP: close a session idle this long with no open stream (default 30 min). */
  sessionIdleMs?: number
  /** A quiet SSE stream or a request unanswered this long gets an SSE comment, so proxies do not cut it (default 15 s; 0: never). */
  keepAliveMs?: number
  /**
   * Tools declared with `task`: where their tasks live (default: this process's memory; give replicas a
   * shared {@link TaskStore}), how long a task and its result stay readable (`ttlMs`, default 1 hour) and
   * the poll interval suggested to clients (`pollIntervalMs`, default 1000).
   */
  tasks?: TaskOptions
  /** Cache hints (`ttlMs`, `cacheScope`) on 2026-07-28 results, by method; default `ttlMs: 0`, `private`. */
  cacheHints?: CacheHints
  /**
   * Key sealing the `requestState` of multi-round 2026 calls (`ctx.elicit`/`ctx.sample`); give replicas the
   * same key (or set `AIRMCP_STATE_KEY`) so any of them can continue a call. Default: random per process.
   */
  stateKey?: string
  /**
   * Streamable HTTP: key signing 2025 session ids (default `AIRMCP_SESSION_KEY`, else random per process).
   * Replicas given the same key serve each other's sessions with no affinity; it also keys `requestState`
   * when `stateKey` is not given.
   */
  sessionKey?: string
  /** Streamable HTTP replicas: this one's endpoint as the others reach it (default `AIRMCP_REPLICA_URL`); see the README. */
  replicaUrl?: string
  /**
   * The server owns the process (default true): SIGINT/SIGTERM close its sessions and end the process, and a
   * port it cannot bind ends it with one line on stderr. `false` when embedding: `start()` throws instead and
   * signals are left to the embedding program.
   */
  handleSignals?: boolean
  /** HTTP transports: Prometheus metrics per tool at `GET /metrics` (default true). */
  metrics?: boolean
  /** HTTP transports: the Bearer token `/metrics` needs (default: `authToken`). */
  metricsToken?: string
  /** OpenTelemetry spans per tool call over OTLP/HTTP (default: on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set). */
  tracing?: TracingOption
}

export interface McpServer {
  readonly name: string
  readonly options: ServerOptions
  /** The URL clients use once started (`.../sse` or `.../mcp`); undefined for stdio. */
  readonly url: string | undefined
  /** The bound port once started (useful with port 0). */
  readonly port: number | undefined
  start(): Promise<void>
  stop(): Promise<void>
  /** Tells subscribed clients that a resource changed. */
  notifyResourceUpdated(uri: string): Promise<void>
  /** Adds (or replaces) a tool while serving; clients get `notifications/tools/list_changed`. */
  addTool(tool: ToolDefinition): Promise<void>
  /** Removes a tool while serving; clients get `notifications/tools/list_changed`. */
  removeTool(name: string): Promise<void>
  /** Adds (or replaces) a prompt while serving; clients get `notifications/prompts/list_changed`. */
  addPrompt(prompt: PromptDefinition): Promise<void>
  /** Removes a prompt while serving; clients get `notifications/prompts/list_changed`. */
  removePrompt(name: string): Promise<void>
}

function log(line: string, fields: Record<string, unknown> = {}): void {
  writeLog('info', line, { component: 'server', ...fields })
}

/** Resolves the transport with the environment's overrides (`AIRMCP_PORT`, `AIRMCP_HOST`) applied. */
export function resolveTransport(transport: TransportConfig, env: Pick<ServerEnvironment, 'port' | 'host'>): TransportConfig {
  if (transport.type === 'stdio') return transport
  const port = env.port ?? transport.port
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Invalid port ${JSON.stringify(port)}. Try this: transport: { type: '${transport.type}', port: 3510 }.`)
  }
  return { ...transport, port, host: env.host || transport.host || '127.0.0.1' }
}

/** Keeps stdout for JSON-RPC: everything console prints goes to stderr. */
function routeConsoleToStderr(): void {
  for (const method of ['log', 'info', 'debug'] as const) console[method] = console.error
}

/**
 * Defines an MCP server over stdio, legacy SSE (`GET /sse`, `POST /messages`) or Streamable HTTP (`/mcp`).
 * Streamable HTTP and stdio serve MCP 2026-07-28 and 2025-11-25 side by side, chosen per request (HTTP)
 * or per connection (stdio); handlers never see which.
 * @example
 * defineServer({ name: 'search', version: '1.0.0', transport: { type: 'sse', port: 3510 }, tools: [search] }).start()
 */
export function defineServer(options: ServerOptions): McpServer {
  if (!options?.name) throw new TypeError('defineServer needs a name. Try this: defineServer({ name: "search-server", ... }).')
  const type = options.transport?.type
  if (type !== 'stdio' && type !== 'sse' && type !== 'http') {
    throw new TypeError(`Server "${options.name}": unknown transport ${JSON.stringify(type)}. Try this: stdio, sse or http.`)
  }
  const protectedResource =
    options.auth && type !== 'stdio'
      ? createProtectedResource(options.auth, type === 'http' ? ((options.transport as { path?: string }).path ?? '/mcp') : '/sse')
      : undefined
  const telemetry = new CallTelemetry('server', options.name)
  const env = serverEnvironment()
  const sessionKey = options.sessionKey ?? env.sessionKey
  const factory = createServerFactory({
    telemetry,
    transport: type === 'stdio' ? 'pipe' : 'tcp',
    name: options.name,
    version: options.version ?? '0.0.0',
    title: options.title,
    description: options.description,
    instructions: options.instructions,
    tools: options.tools ?? [],
    resources: options.resources ?? [],
    prompts: options.prompts ?? [],
    use: options.use ?? [],
    cacheHints: options.cacheHints,
    tasks: options.tasks,
    // stateKey, else one derived from the code's sessionKey, else AIRMCP_STATE_KEY, else one derived from AIRMCP_SESSION_KEY.
    stateKey:
      options.stateKey ??
      (options.sessionKey ? sharedSecret('request-state', options.sessionKey) : undefined) ??
      env.stateKey ??
      sharedSecret('request-state', env.sessionKey),
  })
  let host: HttpHost | undefined
  let modern: McpHttpHandler | undefined
  let stdio: StdioServerHandle | undefined
  let url: string | undefined
  let stopping: Promise<void> | undefined
  let releaseSignals = () => {}

  /**
   * stdio in both eras on one wire, the era chosen by the client's first message: a 2025 `initialize` gets a
   * session server on the wire directly (as a 2025 HTTP session gets one on its transport); anything else
   * goes to the SDK's `serveStdio`, which serves 2026-07-28. Tool calls in either era are read off the wire
   * by the connection's codec (`answerToolCallsOnWire`): on stdio the SDK's per-message parsing cost more
   * than the call.
   */
  function serveStdioEras(wire: StdioWire, onHandle: (handle: StdioServerHandle) => void): void {
    const onerror = (error: Error) => log(`${options.name}: ${error.message}`)
    void wire.firstMessage().then(async (first) => {
      if (first && 'method' in first && first.method === 'initialize') {
        wire.onerror = onerror
        const session = factory.build('legacy', { longLived: true })
        answerToolCallsOnWire(wire, factory, session)
        await session.connect(wire)
      } else {
        answerToolCallsOnWire(wire, factory)
        onHandle(serveStdio(({ era }) => factory.build(era, { longLived: true }), { transport: wire, onerror }))
      }
    })
  }

  /** Tells every client that asked: 2025 sessions and stdio connections directly, 2026 HTTP listen streams via the bus. */
  async function broadcast(send: (s: import('@modelcontextprotocol/server').Server) => Promise<void>, publish: (m: McpHttpHandler) => void) {
    if (modern) publish(modern)
    await Promise.allSettled([...factory.sessions.keys()].map(send))
  }

  const server: McpServer = {
    name: options.name,
    options,
    get url() {
      return url
    },
    get port() {
      return host?.port
    },
    async start() {
      const transport = resolveTransport(options.transport, env)
      await telemetry.start({
        metrics: transport.type !== 'stdio' && options.metrics !== false,
        tracing: options.tracing,
        sources: { sessions: () => host?.sessionCount() ?? factory.sessions.size },
      })
      const metrics = telemetry.metrics
      if (transport.type === 'stdio') {
        routeConsoleToStderr()
        serveStdioEras(new StdioWire(), (handle) => (stdio = handle))
        // The client closing stdin is how a stdio server is told to go.
        process.stdin.once('end', () => void server.stop())
        log(`${options.name} ready on stdio`, { server: options.name })
      } else {
        const http = transport.type === 'http'
        if (http) modern = createMcpHandler(({ era }) => factory.build(era), { legacy: 'reject' })
        const serveModern = modern ? toNodeHandler(modern) : undefined
        const toolCalls = serveModern && answerToolCallsOverHttp(factory, serveModern)
        const taskListens = new QuietStreams()
        host = await startHttpHost({
          label: `Server "${options.name}"`,
          port: transport.port!,
          host: transport.host!,
          serve: { sse: !http, streamable: http },
          path: http ? transport.path : undefined,
          stateless: http ? transport.stateless : undefined,
          createSession: () => factory.build('legacy', { longLived: true }),
          modern: toolCalls && checkParamHeaders(answerTaskListens(factory.taskRunner?.feed, toolCalls, taskListens), (name) => factory.tools.get(name)?.inputSchema),
          keepsAlive: toolCalls && [toolCalls, taskListens],
          allowedHosts: options.allowedHosts,
          allowedOrigins: options.allowedOrigins,
          maxBodyBytes: options.maxBodyBytes,
          maxSessions: options.maxSessions,
          maxSessionsPerClient: options.maxSessionsPerClient,
          requestReadTimeout: options.requestReadTimeout,
          authToken: options.authToken,
          authenticate: protectedResource && principalAuthenticator(protectedResource),
          protectedResource,
          sessionIdleMs: options.sessionIdleMs,
          keepAliveMs: options.keepAliveMs,
          sessionKey,
          replicaUrl: options.replicaUrl ?? env.replicaUrl,
          metrics: metrics && { token: options.metricsToken ?? options.authToken, render: () => metrics.render() },
          health: () => ({ status: 'ok', name: options.name, version: options.version, transport: transport.type, endpoint: http ? (transport.path ?? '/mcp') : '/sse' }),
        }).catch((error: unknown) => failedToStart(error, options.handleSignals !== false))
        url = `${host.url}${http ? (transport.path ?? '/mcp') : '/sse'}`
        void protectedResource?.prefetch()
        log(`${options.name} listening on ${url}`, { server: options.name, url })
        stopWithSupervisor(() => server.stop(), env.supervised)
      }
      if (options.handleSignals !== false) releaseSignals = stopOnSignals(() => server.stop())
    },
    stop() {
      stopping ??= (async () => {
        releaseSignals()
        await Promise.allSettled([...factory.sessions.keys()].map((s) => s.close()))
        await modern?.close()
        await host?.close()
        await stdio?.close()
        await telemetry.stop()
      })()
      return stopping
    },
    async notifyResourceUpdated(uri) {
      if (modern) modern.notify.resourceUpdated(uri)
      await Promise.allSettled(
        [...factory.sessions]
          .filter(([, session]) => session.era === 'modern' || session.uris.has(uri))
          .map(([s]) => s.sendResourceUpdated({ uri })),
      )
    },
    async addTool(tool) {
      factory.tools.set(tool.name, tool)
      await broadcast((s) => s.sendToolListChanged(), (m) => m.notify.toolsChanged())
    },
    async removeTool(name) {
      if (!factory.tools.delete(name)) return
      await broadcast((s) => s.sendToolListChanged(), (m) => m.notify.toolsChanged())
    },
    async addPrompt(prompt) {
      factory.prompts.set(prompt.name, prompt)
      await broadcast((s) => s.sendPromptListChanged(), (m) => m.notify.promptsChanged())
    },
    async removePrompt(name) {
      if (!factory.prompts.delete(name)) return
      await broadcast((s) => s.sendPromptListChanged(), (m) => m.notify.promptsChanged())
    },
  }
  return server
}
