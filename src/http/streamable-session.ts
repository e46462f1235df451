import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  parseJSONRPCMessage,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type RequestId,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server'
import { INVALID_REQUEST, SERVER_ERROR } from '../protocol/codes.js'
import { requestHeadersView } from '../telemetry/tracing.js'
import { isPlainMessage, isRequest, isResponse, refusedRequest } from './jsonrpc.js'
import { KEEP_ALIVE_COMMENT } from './keep-alive.js'
import { endWithJson } from './long-strings.js'
import { DEFAULT_MAX_BUFFERED_BYTES } from './send-budget.js'

/** The HTTP exchange of one POST: which requests it carries and how it answers them. */
interface Exchange {
  res: ServerResponse
  open: Set<RequestId>
  batch: boolean
  /** Answered as one JSON body unless something else must go first (or the answers grow large), then as an SSE stream. */
  sse: boolean
  /** Answers serialized, held until the last one for the JSON body; `heldBytes` their length. */
  responses: string[]
  heldBytes: number
  /** Seen open at a keep-alive tick: still open at the next, it has waited a whole interval. */
  waited?: boolean
}

const eventOf = (json: string) => `event: message\ndata: ${json}\n\n`
const event = (message: JSONRPCMessage) => eventOf(JSON.stringify(message))

function reply(res: ServerResponse, status: number, message: string, code = SERVER_ERROR): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }))
}

/**
 * One 2025-era Streamable HTTP session on node:http. A POST's answer is plain JSON when its responses are all that
 * is sent (the common case, and the cheapest to parse); as soon as a progress, log or server request for
 * one of its requests comes first, that POST switches to an SSE stream. GET opens the session's standalone
 * stream; DELETE ends the session.
 */
export class StreamableHttpSession implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: Transport['onmessage']
  private readonly exchanges = new Map<RequestId, Exchange>()
  private standalone: ServerResponse | undefined
  private closed = false
  /** Requests the transport itself sent to its server (a session rebuilt on another replica), by id. */
  private readonly internal = new Map<RequestId, () => void>()

  /**
   * `relay` tags the ids of requests this session sends its client with this replica's address, and
   * reads them back from the client's answers (see {@link SessionIds.tagRequest}).
   */
  constructor(
    readonly sessionId: string | undefined,
    private readonly relay?: { tag(id: RequestId): RequestId; untag(id: RequestId): RequestId | undefined },
    /** Past this many bytes of a batch's answers, they are streamed as they come rather than held for one body. */
    private readonly maxHeldBytes = DEFAULT_MAX_BUFFERED_BYTES,
  ) {}

  async start(): Promise<void> {}

  /** True while a response stream or an unanswered request is open: the session is in use. */
  isStreaming(): boolean {
    return this.standalone !== undefined || this.exchanges.size > 0
  }

  /** True while a request of this session waits for its answer (a held-open GET stream alone does not count). */
  hasPendingRequests(): boolean {
    return this.exchanges.size > 0
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return this.sessionId ? { ...extra, 'mcp-session-id': this.sessionId } : extra
  }

  /** Answers one HTTP request of this session (`body` is the parsed JSON of a POST). */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const version = req.headers['mcp-protocol-version']
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return reply(res, 400, `Bad Request: Unsupported protocol version: ${version} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`)
    }
    const accept = req.headers.accept ?? ''
    if (req.method === 'GET') {
      if (!accept.includes('text/event-stream')) return reply(res, 406, 'Not Acceptable: Client must accept text/event-stream')
      if (this.standalone) return reply(res, 409, 'Conflict: Only one SSE stream is allowed per session')
      res.writeHead(200, this.headers({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' }))
      res.flushHeaders()
      this.standalone = res
      res.on('close', () => {
        if (this.standalone === res) this.standalone = undefined
      })
      return
    }
    if (req.method === 'DELETE') {
      res.writeHead(200, this.headers({})).end()
      await this.close()
      return
    }
    if (req.method !== 'POST') return reply(res, 405, 'Method Not Allowed')
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return reply(res, 406, 'Not Acceptable: Client must accept both application/json and text/event-stream')
    }
    if (!(req.headers['content-type'] ?? '').includes('application/json')) {
      return reply(res, 415, 'Unsupported Media Type: Content-Type must be application/json')
    }
    const batch = Array.isArray(body)
    const messages: JSONRPCMessage[] = []
    for (const raw of batch ? body : [body]) {
      try {
        // The SDK's schema parse only for what a plain shape check does not recognise (it costs more than the call).
        const message = isPlainMessage(raw) ? (raw as JSONRPCMessage) : parseJSONRPCMessage(raw)
        // A client's answer to a request this replica tagged: back to the id the server knows.
        const own = this.relay && !('method' in message) && 'id' in message ? this.relay.untag(message.id as RequestId) : undefined
        messages.push(own === undefined ? message : ({ ...message, id: own } as JSONRPCMessage))
      } catch (error) {
        return reply(res, 400, `Invalid JSON-RPC message: ${(error as Error).message}`, INVALID_REQUEST)
      }
    }
    const requests = messages.filter(isRequest)
    // `requestInfo`: the raw headers (the gateway's session codec reads trace context there); SDK v2 servers read `request`.
    const extra = { requestInfo: { headers: req.headers }, request: requestHeadersView(req.headers), authInfo: (req as { auth?: unknown }).auth } as never
    if (requests.length === 0) {
      res.writeHead(202, this.headers({})).end()
      for (const message of messages) {
        this.onmessage?.(message, extra)
        // A cancelled request gets no response: end its part of the exchange so no socket stays open.
        if ('method' in message && message.method === 'notifications/cancelled') {
          this.abandon((message.params as { requestId?: RequestId } | undefined)?.requestId)
        }
      }
      return
    }
    const exchange: Exchange = { res, open: new Set(requests.map((r) => r.id)), batch, sse: false, responses: [], heldBytes: 0 }
    for (const id of exchange.open) this.exchanges.set(id, exchange)
    res.on('close', () => {
      for (const id of exchange.open) this.exchanges.delete(id)
    })
    for (const message of messages) this.dispatch(message, extra)
  }

  /** Passes a message to the server, or answers a request the server would drop unanswered (jsonrpc.ts). */
  private dispatch(message: JSONRPCMessage, extra: never): void {
    const refusal = refusedRequest(message)
    if (refusal) void this.send(refusal as JSONRPCMessage)
    else this.onmessage?.(message, extra)
  }

  /**
   * Brings a fresh server to the state of a session begun elsewhere: replays the client's `initialize`
   * (the answer goes nowhere) and `notifications/initialized`, and resolves once the server has answered.
   */
  async restore(initializeParams: Record<string, unknown>): Promise<void> {
    const id = `airmcp-restore-${this.internal.size}`
    const answered = new Promise<void>((resolve) => this.internal.set(id, resolve))
    const extra = { requestInfo: { headers: {} } } as never
    this.onmessage?.({ jsonrpc: '2.0', id, method: 'initialize', params: initializeParams } as JSONRPCMessage, extra)
    await answered
    this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/initialized' } as JSONRPCMessage, extra)
  }

  private abandon(id: RequestId | undefined): void {
    const exchange = id === undefined ? undefined : this.exchanges.get(id)
    if (!exchange) return
    this.exchanges.delete(id!)
    exchange.open.delete(id!)
    if (exchange.open.size > 0) return
    this.toStream(exchange)
    exchange.res.end()
  }

  /**
   * A keep-alive tick (keep-alive.ts): the GET stream gets a comment, and so does every POST still unanswered
   * since the last tick, which becomes an SSE stream for it (a JSON answer cannot carry a comment).
   */
  keepAlive(): void {
    this.standalone?.write(KEEP_ALIVE_COMMENT)
    for (const exchange of new Set(this.exchanges.values())) {
      if (!exchange.waited) {
        exchange.waited = true
        continue
      }
      this.toStream(exchange)
      exchange.res.write(KEEP_ALIVE_COMMENT)
    }
  }

  private toStream(exchange: Exchange): void {
    if (exchange.sse) return
    exchange.sse = true
    exchange.res.writeHead(200, this.headers({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' }))
    for (const json of exchange.responses.splice(0)) exchange.res.write(eventOf(json))
    exchange.heldBytes = 0
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const response = isResponse(message)
    const id = response ? (message as { id: RequestId }).id : options?.relatedRequestId
    if (response && this.internal.has(id!)) {
      this.internal.get(id!)!()
      this.internal.delete(id!)
      return
    }
    if (this.relay && isRequest(message)) message = { ...message, id: this.relay.tag(message.id) }
    if (id === undefined) {
      // Not tied to a request: the standalone stream, when the client opened one.
      this.standalone?.write(event(message))
      return
    }
    const exchange = this.exchanges.get(id)
    if (!exchange) return // the client went away; nobody is left to read it
    if (!response) {
      this.toStream(exchange)
      exchange.res.write(event(message))
      return
    }
    this.exchanges.delete(id)
    exchange.open.delete(id)
    if (exchange.sse) {
      exchange.res.write(event(message))
      if (exchange.open.size === 0) exchange.res.end()
      return
    }
    if (!exchange.batch) return endWithJson(exchange.res, 200, this.headers({ 'content-type': 'application/json' }), message)
    const json = JSON.stringify(message)
    exchange.responses.push(json)
    exchange.heldBytes += json.length
    if (exchange.open.size > 0) {
      // A batch's answers are not held without bound: past the cap they go out as an SSE stream.
      if (exchange.heldBytes > this.maxHeldBytes) this.toStream(exchange)
      return
    }
    // Encoded once (its length read off the bytes, not scanned for): with its length, the answer goes out
    // unchunked, less framing for both ends to write and parse.
    const body = Buffer.from(`[${exchange.responses.join(',')}]`)
    exchange.res.writeHead(200, this.headers({ 'content-type': 'application/json', 'content-length': String(body.length) }))
    exchange.res.end(body)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const exchange of new Set(this.exchanges.values())) {
      if (!exchange.res.headersSent) reply(exchange.res, 503, 'Session closed')
      else exchange.res.end()
    }
    this.exchanges.clear()
    this.standalone?.end()
    this.standalone = undefined
    this.onclose?.()
  }
}
