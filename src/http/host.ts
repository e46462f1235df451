import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Transport } from '@modelcontextprotocol/server'
import { INTERNAL_ERROR, REQUEST_TIMEOUT } from '../protocol/codes.js'
import { bearerMatches } from './bearer.js'
import { checkBearer, checkHostAndOrigin, DEFAULT_MAX_BODY, HttpError, readJsonBody, sendHttpError, type GuardOptions } from './guards.js'
import { closeServer, listen } from './listen.js'
import type { ProtectedResource } from './oauth-resource.js'
import { isModernRequest } from './era.js'
import { DEFAULT_KEEP_ALIVE_MS, type KeepsAlive, startKeepAlive } from './keep-alive.js'
import { SendBudget } from './send-budget.js'
import { SessionIds } from './session-id.js'
import { SseSession } from './sse-session.js'
import { StreamableHttpSession } from './streamable-session.js'
import { Tally } from './tally.js'
import type { MetricsRoute } from '../telemetry/metrics.js'

/** What a host needs of an MCP server instance (SDK v1 or v2 `Server`): one per 2025-era session. */
export interface SessionServer {
  connect(transport: Transport): Promise<void>
  close(): Promise<void>
}

/** Serves one 2026-07-28 request (`body` is its parsed JSON); the guards have already run. */
export type ModernHandler = (req: IncomingMessage, res: ServerResponse, body: unknown, principal?: unknown) => Promise<void>

/** How an HTTP front serves MCP: legacy SSE, Streamable HTTP, or both (the gateway). */
export interface HttpHostOptions extends GuardOptions {
  /** Shown in errors and logs. */
  label: string
  port: number
  serve: { sse: boolean; streamable: boolean }
  /** Streamable HTTP path (default `/mcp`). */
  path?: string
  /** Streamable HTTP without sessions: a fresh server per request. */
  stateless?: boolean
  /** A fresh server for one 2025-era client session, given who `authenticate` said the client is. */
  createSession: (principal?: unknown) => SessionServer
  /**
   * When set (instead of `authToken`), maps the `Authorization` header to who the client is, or undefined
   * for a 401 (or throws an HttpError). A session stays bound to the principal that opened it: another
   * principal gets a 404.
   */
  authenticate?: (authorization: string | undefined, req: IncomingMessage) => unknown
  /** Extra GET routes before any token is asked for (the gateway's OAuth callback); true when served. `url()` parses the target. */
  routes?: (req: IncomingMessage, res: ServerResponse, pathname: string, url: () => URL) => boolean
  /** An OAuth protected resource: its RFC 9728 metadata is served and its challenge sent with every 401. */
  protectedResource?: ProtectedResource
  /** Serves 2026-07-28 requests on the Streamable HTTP path; without it every request is served as 2025-era. */
  modern?: ModernHandler
  /** What else holds responses open for the keep-alive ticks (the 2026 front's unanswered requests, listen streams). */
  keepsAlive?: KeepsAlive[]
  /** Largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number
  /** Most concurrent sessions, held-open SSE streams included (default 1000); at the cap the least recently used idle one is closed. */
  maxSessions?: number
  /** Most sessions one client (remote address) may hold (default: half of maxSessions); past it, its own least recently used idle session is closed. */
  maxSessionsPerClient?: number
  /**
   * Most bytes one client (remote address) may leave unread across its responses and streams, besides the
   * message being written (default: no limit); past it, its stalled responses are closed (send-budget.ts).
   */
  maxBufferedBytesPerClient?: number
  /** How long a client may take to send a request's headers and body, in ms (default 30 000; Node's own is 300 000). */
  requestReadTimeout?: number
  /** Streamable HTTP sessions with no request and no open stream for this long are closed (default 30 min). */
  sessionIdleMs?: number
  /** A quiet SSE stream or a request unanswered this long gets a comment, so proxies keep it open (default 15 s; 0: never). */
  keepAliveMs?: number
  /**
   * Key signing 2025 session ids; replicas given the same key serve each other's sessions (servers and
   * gateways pass `AIRMCP_SESSION_KEY` when their code sets none). Default: random per process.
   */
  sessionKey?: string
  /**
   * This replica's MCP endpoint as the other replicas reach it (e.g. `http://10.0.0.11:4000/mcp`; servers
   * and gateways pass `AIRMCP_REPLICA_URL` when their code sets none). With it, a 2025 client's answer to a sampling/elicitation request that the load
   * balancer hands to another replica is passed back to this one.
   */
  replicaUrl?: string
  /** How long a 2025 session id stays valid, in ms (default 24 h). */
  sessionTtlMs?: number
  /** The environment variable that overrides this port, named in the port-in-use hint (default AIRMCP_PORT). */
  portEnv?: string
  /** Body of `GET /health` (with authToken set, only for an authorized caller; others get `{ status: 'ok' }`). */
  health: () => Record<string, unknown>
  /** `GET /metrics` (Prometheus text), behind the same Host/Origin checks and its own token, else the front's. */
  metrics?: MetricsRoute
}

export interface HttpHost {
  port: number
  url: string
  sessionCount(): number
  close(): Promise<void>
}

interface StreamableEntry {
  transport: StreamableHttpSession
  server: SessionServer
  lastSeen: number
  principal?: unknown
}

/** A request target WHATWG URL leaves as it is: unreserved and sub-delim characters only, no dot segment, no escape. */
const PLAIN_PATH = /^(?!.*\/\.\.?(?:\/|$))\/(?!\/)[\w\-.~!$&'()*+,;=:@/]*$/

/** Whether a request target is its own pathname (`new URL(target, base).pathname === target`). */
export const isPlainPath = (target: string): boolean => PLAIN_PATH.test(target)

/** Starts an HTTP server that hosts MCP sessions; rejects with a clear error when the port is taken. */
export async function startHttpHost(options: HttpHostOptions): Promise<HttpHost> {
  const mcpPath = options.path ?? '/mcp'
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY
  const maxSessions = options.maxSessions ?? 1000
  const streamable = new Map<string, StreamableEntry>()
  // Clients that vanish without DELETE would otherwise hold their session until the cap refuses new ones.
  const idleMs = options.sessionIdleMs ?? 30 * 60_000
  const sweeper = setInterval(() => {
    const cutoff = Date.now() - idleMs
    for (const session of streamable.values()) {
      if (session.lastSeen < cutoff && !session.transport.isStreaming()) void session.transport.close()
    }
  }, Math.max(10, Math.min(60_000, idleMs / 2)))
  sweeper.unref()
  const sse = new Map<string, { transport: SseSession; server: SessionServer; principal?: unknown }>()
  const keepAlive = startKeepAlive(options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS, function* () {
    for (const session of streamable.values()) yield session.transport
    for (const session of sse.values()) yield session.transport
    yield* options.keepsAlive ?? []
  })
  const sessionCount = () => streamable.size + sse.size
  const ids = new SessionIds(options.sessionKey, options.sessionTtlMs)
  const reviving = new Map<string, Promise<StreamableEntry | undefined>>()
  const replicaUrl = options.replicaUrl
  const relayFor = (sessionId: string) =>
    replicaUrl
      ? {
          tag: (id: string | number) => ids.tagRequest(sessionId, replicaUrl, id),
          untag: (id: string | number) => {
            const tag = ids.readTag(sessionId, id)
            return tag?.replicaUrl === replicaUrl ? tag.id : undefined
          },
        }
      : undefined

  /** The replica that asked, when every message of a POST is a client's answer to another replica's request. */
  function askingReplica(req: IncomingMessage, sessionId: string, body: unknown): string | undefined {
    if (!replicaUrl || req.method !== 'POST' || req.headers['x-airmcp-relayed']) return undefined
    const messages = (Array.isArray(body) ? body : [body]) as { id?: unknown; method?: unknown }[]
    if (messages.some((m) => typeof m !== 'object' || m === null || 'method' in m)) return undefined
    const owners = new Set(messages.map((m) => ids.readTag(sessionId, m.id)?.replicaUrl))
    const [owner] = owners
    return owners.size === 1 && owner && owner !== replicaUrl ? owner : undefined
  }

  /** Passes a client's answers to the replica whose request they answer. */
  async function relay(target: string, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const headers: Record<string, string> = { 'x-airmcp-relayed': '1' }
    for (const name of ['mcp-session-id', 'mcp-protocol-version', 'authorization', 'content-type', 'accept']) {
      const value = req.headers[name]
      if (typeof value === 'string') headers[name] = value
    }
    const answer = await fetch(target, { method: 'POST', headers, body: JSON.stringify(body) }).catch((error: Error) => {
      throw new HttpError(502, `The replica that asked (${target}) is not reachable: ${error.message}`)
    })
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
    res.end(await answer.text())
  }

  const maxPerClient = options.maxSessionsPerClient ?? Math.max(1, Math.ceil(maxSessions / 2))
  const sendBudget = options.maxBufferedBytesPerClient === undefined ? undefined : new SendBudget(options.maxBufferedBytesPerClient)
  const bookkeeping = new SessionBook()

  /** Makes room for one more session of this client: its own LRU idle session past its share, anyone's at the cap. */
  function makeRoom(client: string): void {
    if (bookkeeping.countOf(client) >= maxPerClient && !bookkeeping.evictIdle(client)) {
      throw new HttpError(503, `Too many sessions from this client (limit ${maxPerClient}). Try this: close sessions you no longer use (DELETE), or raise maxSessionsPerClient.`)
    }
    if (sessionCount() >= maxSessions && !bookkeeping.evictIdle()) {
      throw new HttpError(503, `Too many sessions (limit ${maxSessions}). Try this: retry later, or raise maxSessions.`)
    }
  }

  /** Who sent the request (per `authenticate`), or undefined when the host has no notion of it; 401 for nobody. */
  async function authorize(req: IncomingMessage): Promise<unknown> {
    if (!options.authenticate) {
      checkBearer(req, options.authToken)
      return undefined
    }
    const principal = await options.authenticate(req.headers.authorization, req)
    if (principal === undefined) {
      throw options.protectedResource?.refusal(req, req.headers.authorization ? 'invalid_token' : undefined) ?? new HttpError(401, 'Missing or wrong bearer token.')
    }
    return principal
  }

  /** An `initialize` request by its method alone (a zod parse of every body cost each call); the server validates the rest. */
  const isInitializeRequest = (message: unknown): boolean => {
    const m = message as { method?: unknown; params?: unknown } | null
    return typeof m === 'object' && m !== null && m.method === 'initialize' && typeof m.params === 'object' && m.params !== null
  }

  async function handleStreamable(req: IncomingMessage, res: ServerResponse, principal: unknown): Promise<void> {
    const body = req.method === 'POST' ? await readJsonBody(req, maxBody) : undefined
    if (options.modern && isModernRequest(req, body)) return options.modern(req, res, body, principal)
    if (options.stateless) {
      const server = options.createSession(principal)
      const transport = new StreamableHttpSession(undefined, undefined, options.maxBufferedBytesPerClient)
      res.on('close', () => void server.close())
      await server.connect(transport)
      await transport.handle(req, res, body)
      return
    }
    const sessionId = req.headers['mcp-session-id']
    const initializing = Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body)
    // An initialize carrying a session id this process does not hold (a client resuming after a restart) starts afresh.
    if (typeof sessionId === 'string' && !(initializing && !streamable.has(sessionId))) {
      if (req.method === 'DELETE') ids.end(sessionId, req.headers.authorization)
      const held = streamable.get(sessionId)
      // Another client's session answers as one that does not exist.
      const session = held ? (held.principal === principal ? held : undefined) : req.method === 'DELETE' ? undefined : await revive(sessionId, req, principal)
      if (!session && req.method === 'DELETE' && ids.isEnded(sessionId)) {
        // Begun on another replica: ended here too; that replica lets it go when it idles out.
        res.writeHead(200).end()
        return
      }
      if (!session) throw new HttpError(404, `Session "${sessionId}" not found. Start a new session with initialize.`, REQUEST_TIMEOUT)
      const owner = askingReplica(req, sessionId, body)
      if (owner) return relay(owner, req, res, body)
      session.lastSeen = Date.now()
      bookkeeping.touch(sessionId)
      await session.transport.handle(req, res, body)
      return
    }
    if (req.method !== 'POST' || !initializing) {
      throw new HttpError(400, 'Bad Request: no mcp-session-id header. Send initialize first.')
    }
    const initialize = (Array.isArray(body) ? body.find(isInitializeRequest) : body) as { params?: Record<string, unknown> }
    const session = await openStreamable(ids.mint(initialize.params, Date.now(), req.headers.authorization), clientOf(req), principal)
    await session.transport.handle(req, res, body)
  }

  async function openStreamable(sessionId: string, client: string, principal: unknown): Promise<StreamableEntry> {
    makeRoom(client)
    const server = options.createSession(principal)
    const transport = new StreamableHttpSession(sessionId, relayFor(sessionId), options.maxBufferedBytesPerClient)
    const entry = { transport, server, lastSeen: Date.now(), principal }
    streamable.set(sessionId, entry)
    bookkeeping.add(sessionId, client, () => transport.hasPendingRequests(), () => void transport.close())
    transport.onclose = () => {
      streamable.delete(sessionId)
      bookkeeping.remove(sessionId)
      void server.close()
    }
    await server.connect(transport)
    return entry
  }

  /** Takes over a session another replica (or an earlier process with the same key) began; undefined when the id is not valid. */
  function revive(sessionId: string, req: IncomingMessage, principal: unknown): Promise<StreamableEntry | undefined> {
    const claims = ids.verify(sessionId, Date.now(), req.headers.authorization)
    // The id is bound to the credentials that opened it: other credentials get a 404 on every replica.
    if (!claims) return Promise.resolve(undefined)
    let pending = reviving.get(sessionId)
    if (pending) return pending
    pending = (async () => {
      const entry = await openStreamable(sessionId, clientOf(req), principal)
      const { protocolVersion, capabilities, clientInfo } = claims
      await entry.transport.restore({ protocolVersion, capabilities, clientInfo })
      return entry
    })().finally(() => reviving.delete(sessionId))
    reviving.set(sessionId, pending)
    return pending
  }

  async function openSse(req: IncomingMessage, res: ServerResponse, principal: unknown): Promise<void> {
    makeRoom(clientOf(req))
    const server = options.createSession(principal)
    const transport = new SseSession(res, '/messages')
    sse.set(transport.sessionId, { transport, server, principal })
    // A held-open stream is not use: only its POSTs keep an SSE session from being the least recently used.
    bookkeeping.add(transport.sessionId, clientOf(req), () => false, () => void transport.close())
    transport.onclose = () => {
      sse.delete(transport.sessionId)
      bookkeeping.remove(transport.sessionId)
      void server.close()
    }
    await server.connect(transport)
  }

  async function postSse(req: IncomingMessage, res: ServerResponse, url: URL, principal: unknown): Promise<void> {
    const sessionId = url.searchParams.get('sessionId') ?? ''
    const session = sse.get(sessionId)
    if (!session || session.principal !== principal) throw new HttpError(404, `Session "${sessionId}" not found. Reconnect to /sse.`, REQUEST_TIMEOUT)
    bookkeeping.touch(sessionId)
    const body = await readJsonBody(req, maxBody)
    session.transport.handlePost(req, res, body)
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/'
    let parsed: URL | undefined
    const url = () => (parsed ??= new URL(target, 'http://localhost'))
    // A plain path is its own pathname: most requests skip building a URL (a few µs on every call).
    const pathname = isPlainPath(target) ? target : url().pathname
    // Public by design (RFC 9728): browser-based clients on other origins read it too.
    if (options.protectedResource?.serveMetadata(req, res, pathname)) return
    checkHostAndOrigin(req, options)
    if (options.routes?.(req, res, pathname, url)) return
    if (pathname === '/health' && req.method === 'GET') {
      // A liveness probe without the token learns that the process answers, nothing more.
      const authorized = options.authenticate
        ? await Promise.resolve(options.authenticate(req.headers.authorization, req)).then((p) => p !== undefined, () => false)
        : !options.authToken || bearerMatches(req.headers.authorization, options.authToken)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(authorized ? { ...options.health(), sessions: sessionCount() } : { status: 'ok' }))
      return
    }
    if (pathname === '/metrics' && req.method === 'GET' && options.metrics) {
      // Its own token when it has one, else whoever may use the front (authToken or a named client).
      if (options.metrics.token !== undefined) checkBearer(req, options.metrics.token)
      else await authorize(req)
      const { contentType, body } = await options.metrics.render()
      res.writeHead(200, { 'content-type': contentType })
      res.end(body)
      return
    }
    const wantsEvents = (req.headers.accept ?? '').includes('text/event-stream')
    if (options.serve.streamable && pathname === mcpPath) {
      return handleStreamable(req, res, await authorize(req))
    }
    if (options.serve.sse && req.method === 'GET' && (pathname === '/sse' || (pathname === '/' && wantsEvents))) {
      return openSse(req, res, await authorize(req))
    }
    if (options.serve.sse && req.method === 'POST' && pathname === '/messages') {
      return postSse(req, res, url(), await authorize(req))
    }
    const endpoint = options.serve.streamable ? `POST ${mcpPath}` : 'GET /sse'
    throw new HttpError(404, `Nothing at ${req.method} ${pathname}. Try this: the MCP endpoint is ${endpoint}.`)
  }

  // Slow clients get a bounded time to send a request (Node's default is 5 minutes per request).
  const readTimeout = options.requestReadTimeout ?? 30_000
  const httpServer = createServer({
    requestTimeout: readTimeout,
    headersTimeout: Math.min(readTimeout, 20_000),
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(readTimeout / 4))),
  }, (req, res) => {
    sendBudget?.track(res, clientOf(req))
    route(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) sendHttpError(res, error)
      else sendHttpError(res, new HttpError(500, `Internal error: ${(error as Error)?.message ?? error}`, INTERNAL_ERROR))
    })
  })
  const { port, url } = await listen(httpServer, options.port, options.host, options.label, options.portEnv)
  return {
    port,
    url,
    sessionCount,
    async close() {
      clearInterval(sweeper)
      keepAlive.stop()
      const sessions = [...streamable.values(), ...sse.values()]
      streamable.clear()
      sse.clear()
      await Promise.allSettled(sessions.map(({ transport, server }) => transport.close().then(() => server.close())))
      await closeServer(httpServer)
    },
  }
}

/** The client a session is charged to: its remote address (loopback clients share one). */
function clientOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown'
}

/** Every open session in least-recently-used order, with its client, so the cap can close the right one. */
class SessionBook {
  private readonly entries = new Map<string, { client: string; busy: () => boolean; close: () => void }>()
  private readonly perClient = new Tally<string>()

  add(id: string, client: string, busy: () => boolean, close: () => void): void {
    this.entries.set(id, { client, busy, close })
    this.perClient.add(client)
  }

  /** Moves a session to the most recently used end (a Map iterates in insertion order). */
  touch(id: string): void {
    const entry = this.entries.get(id)
    if (!entry) return
    this.entries.delete(id)
    this.entries.set(id, entry)
  }

  remove(id: string): void {
    const entry = this.entries.get(id)
    if (!entry) return
    this.entries.delete(id)
    this.perClient.remove(entry.client)
  }

  countOf(client: string): number {
    return this.perClient.of(client)
  }

  /** Closes the least recently used session with no request in flight (of one client, or of anyone); false when none is idle. */
  evictIdle(client?: string): boolean {
    for (const [id, entry] of this.entries) {
      if ((client === undefined || entry.client === client) && !entry.busy()) {
        this.remove(id)
        entry.close()
        return true
      }
    }
    return false
  }
}
