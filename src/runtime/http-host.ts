import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import type { MetricsRoute } from '../telemetry/metrics.js'
import { StreamableHttpSession } from './streamable-http.js'

/** How an HTTP front serves MCP: legacy SSE, Streamable HTTP, or both (the gateway). */
export interface HttpHostOptions {
  /** Shown in errors and logs. */
  label: string
  port: number
  host: string
  serve: { sse: boolean; streamable: boolean }
  /** Streamable HTTP path (default `/mcp`). */
  path?: string
  /** Streamable HTTP without sessions: a fresh server per request. */
  stateless?: boolean
  /** A fresh SDK server for one client session. */
  createSession: () => Server
  /** Extra Host header names accepted besides loopback ones (`*` accepts any). */
  allowedHosts?: string[]
  /** Extra Origins accepted besides loopback ones (`*` accepts any). */
  allowedOrigins?: string[]
  /** Largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number
  /** Most concurrent sessions (default 1000). */
  maxSessions?: number
  /** When set, MCP requests need `Authorization: Bearer <token>`. */
  authToken?: string
  /** Streamable HTTP sessions with no request and no open stream for this long are closed (default 30 min). */
  sessionIdleMs?: number
  /** Body of `GET /health`. */
  health: () => Record<string, unknown>
  /** `GET /metrics` (Prometheus text), behind the same Host/Origin checks and its own or the main token. */
  metrics?: MetricsRoute
}

export interface HttpHost {
  port: number
  url: string
  sessionCount(): number
  close(): Promise<void>
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])
const DEFAULT_MAX_BODY = 4 * 1024 * 1024

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = -32000,
  ) {
    super(message)
  }
}

function hostnameOf(hostHeader: string): string {
  return hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]
}

function isLoopbackBind(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.')
}

/** Refuses requests a DNS-rebinding page could send: foreign Host names on a loopback bind, foreign Origins. */
function checkHostAndOrigin(req: IncomingMessage, options: HttpHostOptions): void {
  const allowedHosts = options.allowedHosts ?? []
  if (!allowedHosts.includes('*') && (isLoopbackBind(options.host) || allowedHosts.length)) {
    const hostname = hostnameOf(req.headers.host ?? '').toLowerCase()
    if (!LOOPBACK_HOSTS.has(hostname) && !hostname.startsWith('127.') && !allowedHosts.includes(hostname)) {
      throw new HttpError(403, `Host "${req.headers.host}" is not allowed. Add it to allowedHosts to accept it.`)
    }
  }
  const origin = req.headers.origin
  const allowedOrigins = options.allowedOrigins ?? []
  if (origin && !allowedOrigins.includes('*') && !allowedOrigins.includes(origin)) {
    let hostname = ''
    try {
      hostname = new URL(origin).hostname
    } catch {
      // An unparsable Origin is foreign.
    }
    if (!LOOPBACK_HOSTS.has(hostname) && !hostname.startsWith('127.')) {
      throw new HttpError(403, `Origin "${origin}" is not allowed. Add it to allowedOrigins to accept it.`)
    }
  }
}

function checkAuth(req: IncomingMessage, token: string | undefined): void {
  if (token && req.headers.authorization !== `Bearer ${token}`) {
    throw new HttpError(401, 'Missing or wrong bearer token.')
  }
}

/** Reads and parses a JSON body, refusing bodies over the cap before they are buffered whole. */
async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new HttpError(413, `Request body of ${declared} bytes exceeds the ${limit}-byte limit.`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new HttpError(413, `Request body exceeds the ${limit}-byte limit.`)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (error) {
    throw new HttpError(400, `Parse error: ${(error as Error).message}`, -32700)
  }
}

function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.end()
    return
  }
  res.writeHead(error.status, {
    'content-type': 'application/json',
    ...(error.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
  })
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: error.code, message: error.message }, id: null }))
}

/** Starts an HTTP server that hosts MCP sessions; rejects with a clear error when the port is taken. */
export async function startHttpHost(options: HttpHostOptions): Promise<HttpHost> {
  const mcpPath = options.path ?? '/mcp'
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY
  const maxSessions = options.maxSessions ?? 1000
  const streamable = new Map<string, { transport: StreamableHttpSession; server: Server; lastSeen: number }>()
  // Clients that vanish without DELETE would otherwise hold their session until the cap refuses new ones.
  const idleMs = options.sessionIdleMs ?? 30 * 60_000
  const sweeper = setInterval(() => {
    const cutoff = Date.now() - idleMs
    for (const session of streamable.values()) {
      if (session.lastSeen < cutoff && !session.transport.isStreaming()) void session.transport.close()
    }
  }, Math.max(10, Math.min(60_000, idleMs / 2)))
  sweeper.unref()
  const sse = new Map<string, { transport: SSEServerTransport; server: Server }>()
  const sessionCount = () => streamable.size + sse.size

  function assertRoom(): void {
    if (sessionCount() >= maxSessions) throw new HttpError(503, `Too many sessions (limit ${maxSessions}).`)
  }

  async function handleStreamable(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = req.method === 'POST' ? await readJsonBody(req, maxBody) : undefined
    if (options.stateless) {
      const server = options.createSession()
      const transport = new StreamableHttpSession(undefined)
      res.on('close', () => void server.close())
      await server.connect(transport)
      await transport.handle(req, res, body)
      return
    }
    const sessionId = req.headers['mcp-session-id']
    if (typeof sessionId === 'string') {
      const session = streamable.get(sessionId)
      if (!session) throw new HttpError(404, `Session "${sessionId}" not found. Start a new session with initialize.`, -32001)
      session.lastSeen = Date.now()
      await session.transport.handle(req, res, body)
      return
    }
    const initializing = Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body)
    if (req.method !== 'POST' || !initializing) {
      throw new HttpError(400, 'Bad Request: no mcp-session-id header. Send initialize first.')
    }
    assertRoom()
    const server = options.createSession()
    const transport = new StreamableHttpSession(randomUUID())
    streamable.set(transport.sessionId!, { transport, server, lastSeen: Date.now() })
    transport.onclose = () => {
      streamable.delete(transport.sessionId!)
      void server.close()
    }
    await server.connect(transport)
    await transport.handle(req, res, body)
  }

  async function openSse(res: ServerResponse): Promise<void> {
    assertRoom()
    const server = options.createSession()
    const transport = new SSEServerTransport('/messages', res)
    sse.set(transport.sessionId, { transport, server })
    res.on('close', () => {
      sse.delete(transport.sessionId)
      void server.close()
    })
    await server.connect(transport)
  }

  async function postSse(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const sessionId = url.searchParams.get('sessionId') ?? ''
    const session = sse.get(sessionId)
    if (!session) throw new HttpError(404, `Session "${sessionId}" not found. Reconnect to /sse.`, -32001)
    const body = await readJsonBody(req, maxBody)
    await session.transport.handlePostMessage(req, res, body)
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkHostAndOrigin(req, options)
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/health' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ...options.health(), sessions: sessionCount() }))
      return
    }
    if (url.pathname === '/metrics' && req.method === 'GET' && options.metrics) {
      checkAuth(req, options.metrics.token)
      const { contentType, body } = await options.metrics.render()
      res.writeHead(200, { 'content-type': contentType })
      res.end(body)
      return
    }
    const wantsEvents = (req.headers.accept ?? '').includes('text/event-stream')
    if (options.serve.streamable && url.pathname === mcpPath) {
      checkAuth(req, options.authToken)
      return handleStreamable(req, res)
    }
    if (options.serve.sse && req.method === 'GET' && (url.pathname === '/sse' || (url.pathname === '/' && wantsEvents))) {
      checkAuth(req, options.authToken)
      return openSse(res)
    }
    if (options.serve.sse && req.method === 'POST' && url.pathname === '/messages') {
      checkAuth(req, options.authToken)
      return postSse(req, res, url)
    }
    throw new HttpError(404, `Nothing at ${req.method} ${url.pathname}.`)
  }

  const httpServer = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) sendError(res, error)
      else sendError(res, new HttpError(500, `Internal error: ${(error as Error)?.message ?? error}`, -32603))
    })
  })
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new Error(
            `${options.label}: port ${options.port} on ${options.host} is already in use. ` +
              'Try this: stop the other process, or choose another port (AIRMCP_PORT=...).',
          ),
        )
      } else if (error.code === 'EACCES') {
        reject(new Error(`${options.label}: no permission to listen on ${options.host}:${options.port}.`))
      } else reject(error)
    })
    httpServer.listen(options.port, options.host, () => resolve())
  })
  const port = (httpServer.address() as AddressInfo).port
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    port,
    url: `http://${hostForUrl}:${port}`,
    sessionCount,
    async close() {
      clearInterval(sweeper)
      const sessions = [...streamable.values(), ...sse.values()]
      streamable.clear()
      sse.clear()
      await Promise.allSettled(sessions.map(({ transport, server }) => transport.close().then(() => server.close())))
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve())
        httpServer.closeAllConnections()
      })
    },
  }
}
