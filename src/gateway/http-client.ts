import http from 'node:http'
import https from 'node:https'
import { urlToHttpOptions } from 'node:url'
import { PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/client'
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'
import { createParser } from 'eventsource-parser'
import { isJsonRpcMessage, isRequest } from '../http/jsonrpc.js'
import { encodeHeaderValue, paramHeadersFor } from '../http/param-headers.js'
import { traceHeadersOf } from '../telemetry/tracing.js'
import { redact, RESULT_TOO_LARGE, UPSTREAM_BROKEN, UpstreamTransportError } from './errors.js'
import { markOwner } from './isolation.js'

/** What the SDK's protocol layer passes with a message beyond the 2025 options (2026-07-28 per-request streams). */
interface SendOptions extends TransportSendOptions {
  /** Extra request headers (`Mcp-Param-*`); the ones the transport owns are never overridden. */
  headers?: Record<string, string>
  /** Aborted to cancel a 2026 request: its HTTP exchange is closed (the 2026 way to cancel). */
  requestSignal?: AbortSignal
  /** Called when a request's stream ends without an answer (a `subscriptions/listen` stream). */
  onRequestStreamEnd?: () => void
}

const OWN_HEADERS = new Set(['authorization', 'content-type', 'accept', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-session-id'])
/** The request field a 2026 request's `Mcp-Name` header mirrors, by method. */
const NAME_FIELD: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' }

/** One POST: the message, its serialized body and the headers it needs, kept for a retry on a fresh socket. */
interface Exchange {
  message: JSONRPCMessage
  id: RequestId | undefined
  body: string
  headers: Record<string, string>
  /** The mark of the client request this one belongs to (isolation.ts). */
  owner: unknown
  options: SendOptions | undefined
}

/**
 * The headers a 2026-07-28 request derives from its own body (`MCP-Protocol-Version`, `Mcp-Method`,
 * `Mcp-Name`, and the `Mcp-Param-*` of the tool's `x-mcp-header` arguments); none for a 2025 message,
 * which carries no protocol version in its `_meta`.
 */
function envelopeHeaders(message: JSONRPCMessage, inputSchemaOf?: ToolSchemas): Record<string, string> | undefined {
  if (!isRequest(message)) return undefined
  const params = (message as { params?: Record<string, unknown> }).params
  const version = (params?._meta as Record<string, unknown> | undefined)?.[PROTOCOL_VERSION_META_KEY]
  if (typeof version !== 'string') return undefined
  const headers: Record<string, string> = { 'mcp-protocol-version': version, 'mcp-method': message.method }
  const name = params?.[NAME_FIELD[message.method] ?? '']
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name)
  // The arguments a tool declares with `x-mcp-header`, mirrored as the server will check.
  if (message.method === 'tools/call' && typeof name === 'string') Object.assign(headers, paramHeadersFor(inputSchemaOf?.(name), params?.arguments))
  return headers
}

/** A tool's input schema by name, as the server listed it (for its `Mcp-Param-*` headers). */
export type ToolSchemas = (tool: string) => object | undefined

/**
 * The gateway's Streamable HTTP client on node:http with keep-alive sockets, for both protocol eras: one
 * POST per message, answers read as JSON or as an SSE stream, the 2025 session's standalone GET stream for
 * server notifications, 2026 requests with the headers their body implies, and a cancelled request's HTTP
 * exchange closed at once. It replaces the SDK's fetch-based transport on the hot path: node:http with
 * kept-alive sockets costs the gateway much less CPU per call than fetch and web streams.
 */
export class HttpClientTransport implements Transport {
  /** The SDK's protocol layer cancels a 2026 request by aborting `requestSignal`, not by a notification. */
  readonly hasPerRequestStream = true
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  sessionId: string | undefined
  private protocolVersion: string | undefined
  private readonly agent: http.Agent
  private readonly client: typeof http | typeof https
  private readonly inflight = new Map<RequestId, http.ClientRequest>()
  /** Exchanges we ended ourselves (a cancelled request): their cut-off answer is nobody's error. */
  private readonly cancelled = new WeakSet<http.ClientRequest>()
  private standalone: http.ClientRequest | undefined
  private reopenTimer: NodeJS.Timeout | undefined
  private closed = false
  /** The URL as errors show it (credentials and query values removed), computed once. */
  private readonly where: string
  /** Where every request goes, as node:http options, computed once rather than from the URL per request. */
  private readonly target: http.RequestOptions

  constructor(
    url: URL,
    private readonly extraHeaders: Record<string, string> = {},
    private readonly maxResultBytes = 8 * 1024 * 1024,
    private readonly inputSchemaOf?: ToolSchemas,
  ) {
    this.client = url.protocol === 'https:' ? https : http
    this.agent = new this.client.Agent({ keepAlive: true })
    this.where = redact(url.toString())
    this.target = { ...urlToHttpOptions(url), agent: this.agent }
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version
  }

  private headers(accept: string): Record<string, string> {
    return {
      ...this.extraHeaders,
      accept,
      ...(this.sessionId ? { 'mcp-session-id': this.sessionId } : {}),
      ...(this.protocolVersion ? { 'mcp-protocol-version': this.protocolVersion } : {}),
    }
  }

  /** Passes on each JSON-RPC message of a JSON text; returns false when the text is not JSON-RPC at all. */
  private deliver(text: string, answered?: (id: RequestId) => void, owner?: unknown): boolean {
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      return false
    }
    for (const item of Array.isArray(data) ? data : [data]) {
      if (!isJsonRpcMessage(item)) return false
      const message = item as JSONRPCMessage
      if ('id' in message && message.id !== undefined && !('method' in message)) answered?.(message.id)
      // `owner`: the mark of the request whose answer carried the message (see isolation.ts).
      markOwner(message as never, owner)
      this.onmessage?.(message)
    }
    return true
  }

  /** Fails one forwarded request at once with an error of our own (the upstream will never answer it now). */
  private failRequest(id: RequestId, code: number, message: string): void {
    if (this.closed) return
    this.onmessage?.({ jsonrpc: '2.0', id, error: { code, message } })
  }

  /**
   * Reads one POST's answer (JSON or an SSE stream) in linear time and bounded memory. For a request, a
   * result over maxResultBytes, garbage instead of JSON-RPC, or a socket cut before the response are
   * turned into an error for that request at once instead of a wait for requestTimeout.
   */
  private readAnswer(
    req: http.ClientRequest,
    res: http.IncomingMessage,
    id: RequestId | undefined,
    owner?: unknown,
    onStreamEnd?: () => void,
  ): void {
    const where = this.where
    let answered = id === undefined
    const settle = (code: number, message: string) => {
      if (answered || this.cancelled.has(req)) return
      answered = true
      // A stream that answers nothing by design (subscriptions/listen) is told it ended; a request is failed.
      if (onStreamEnd) onStreamEnd()
      else this.failRequest(id!, code, message)
    }
    const mine = (responseId: RequestId) => {
      if (responseId === id) answered = true
    }
    const broken = (why: string) => {
      settle(UPSTREAM_BROKEN, `The server at ${where} ${why}`)
      res.destroy()
    }
    const tooLarge = () => {
      settle(RESULT_TOO_LARGE, `The answer from ${where} is larger than the ${this.maxResultBytes}-byte limit. Try this: ask for less, or raise the gateway's maxResultBytes.`)
      res.destroy()
    }
    // Events after the first wait a turn of the event loop each: the v2 SDK client dispatches notifications
    // asynchronously, and a response read in the same tick would otherwise overtake the progress before it.
    let queue: Promise<void> | undefined
    const inOrder = (run: () => void) => {
      if (!queue) {
        queue = Promise.resolve()
        run()
      } else queue = queue.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(run)
    }
    res.on('close', () =>
      inOrder(() => {
        if (!res.complete) broken('closed the connection in the middle of its answer.')
        else broken('ended its answer without a response.')
      }),
    )
    if ((res.headers['content-type'] ?? '').includes('text/event-stream')) {
      res.setEncoding('utf8')
      const parser = createParser({
        maxBufferSize: this.maxResultBytes,
        onEvent: (event) => {
          if (!event.data) return
          const data = event.data
          inOrder(() => {
            if (!this.deliver(data, mine, owner)) broken('sent an event that is not JSON-RPC.')
          })
        },
        onError: (error) => {
          if (error.type === 'max-buffer-size-exceeded') tooLarge()
        },
      })
      res.on('data', (chunk: string) => {
        if (!res.destroyed) parser.feed(chunk)
      })
      return
    }
    // A JSON answer is read as bytes and decoded once.
    const parts: Buffer[] = []
    let size = 0
    res.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > this.maxResultBytes) return tooLarge()
      parts.push(chunk)
    })
    res.on('end', () => {
      const text = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8')
      if (text && !this.deliver(text, mine, owner)) broken('answered with something that is not JSON-RPC.')
    })
  }

  send(message: JSONRPCMessage, options?: SendOptions): Promise<void> {
    if ('method' in message && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId
      const req = requestId === undefined ? undefined : this.inflight.get(requestId)
      if (req) {
        this.cancelled.add(req)
        req.destroy()
      }
    }
    const id = isRequest(message) ? message.id : undefined
    if (options?.requestSignal?.aborted) return Promise.resolve()
    // Serialized first: a request that cannot be (too deep, a cycle) fails alone, before any socket is used.
    const body = JSON.stringify(message)
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(options?.headers ?? {})) if (!OWN_HEADERS.has(name.toLowerCase())) headers[name] = value
    Object.assign(headers, envelopeHeaders(message, this.inputSchemaOf), traceHeadersOf(message))
    const exchange: Exchange = { message, id, body, headers, owner: id !== undefined ? options?.relatedRequestId : undefined, options }
    return this.post(exchange, true)
  }

  private post(exchange: Exchange, mayRetry: boolean): Promise<void> {
    const { message, id, body, owner, options } = exchange
    return new Promise((resolve, reject) => {
      const req = this.client.request({
        ...this.target,
        method: 'POST',
        headers: { ...this.headers('application/json, text/event-stream'), 'content-type': 'application/json', ...exchange.headers },
      })
      const signal = options?.requestSignal
      const abort = () => {
        this.cancelled.add(req)
        req.destroy()
      }
      signal?.addEventListener('abort', abort, { once: true })
      const done = () => {
        signal?.removeEventListener('abort', abort)
        if (id !== undefined && this.inflight.get(id) === req) this.inflight.delete(id)
      }
      if (id !== undefined) this.inflight.set(id, req)
      req.on('error', (error: NodeJS.ErrnoException) => {
        done()
        if (this.cancelled.has(req)) return resolve()
        // A kept-alive socket the server closed just as we reused it: the request never reached the server, so
        // it is sent once more on a fresh socket rather than counted as the upstream failing (Node's own advice).
        if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET' && !this.closed) {
          this.post(exchange, false).then(resolve, reject)
          return
        }
        reject(error)
      })
      req.on('response', (res) => {
        const session = res.headers['mcp-session-id']
        if (typeof session === 'string') this.sessionId = session
        const status = res.statusCode ?? 0
        res.on('close', done)
        if (status === 400 && id !== undefined && exchange.headers['mcp-protocol-version']) {
          // A 2026 server refuses a request (unsupported revision, headers that disagree) with 400 and a JSON-RPC
          // error for it: that error is the request's answer.
          this.readRefusal(res, id).then((delivered) => (delivered ? resolve() : reject(new Error(`HTTP 400 from ${this.where}`))))
          return
        }
        if (status >= 400) {
          res.resume()
          // The body is the upstream's to read, not ours to show (it may echo secrets); the status says enough.
          const text = `HTTP ${status} from ${this.where}`
          // A lost session, a server error or refused credentials make the member unusable; other statuses concern this request.
          reject(status === 404 || status === 401 || status === 403 || status >= 500 ? new UpstreamTransportError(text) : new Error(text))
          return
        }
        resolve()
        if (status === 202) {
          res.resume()
          if ('method' in message && message.method === 'notifications/initialized') this.openStandalone()
          return
        }
        this.readAnswer(req, res, id, owner, options?.onRequestStreamEnd)
      })
      req.end(body)
    })
  }

  /** Reads a refusal's body (bounded) and delivers it when it is a JSON-RPC error answering request `id`. */
  private async readRefusal(res: http.IncomingMessage, id: RequestId): Promise<boolean> {
    let text = ''
    res.setEncoding('utf8')
    for await (const chunk of res) {
      text += chunk
      if (text.length > 64 * 1024) {
        res.destroy()
        return false
      }
    }
    try {
      const answer = JSON.parse(text) as Record<string, unknown>
      if (!isJsonRpcMessage(answer) || !('error' in answer) || answer.id !== id) return false
      this.onmessage?.(answer as JSONRPCMessage)
      return true
    } catch {
      return false
    }
  }

  /**
   * The session's GET stream, where list_changed and other unrelated notifications arrive; reopened when it
   * ends (at once after a stream that lasted, else after a second). A reopen that finds nobody listening at
   * the server's address says the server is gone: reported (`onerror`), so the member leaves its pool now
   * rather than at the next call or health ping.
   */
  private openStandalone(): void {
    if (this.closed || this.standalone) return
    const req = this.client.request({ ...this.target, method: 'GET', headers: this.headers('text/event-stream') })
    this.standalone = req
    const opened = Date.now()
    const reopen = () => {
      if (this.standalone !== req) return
      this.standalone = undefined
      if (this.closed) return
      this.reopenTimer = setTimeout(() => this.openStandalone(), Date.now() - opened > 1000 ? 0 : 1000)
      this.reopenTimer.unref()
    }
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNREFUSED') return reopen()
      if (this.standalone === req) this.standalone = undefined
      this.onerror?.(new UpstreamTransportError(`The server at ${this.where} is not reachable (${error.code}).`))
    })
    req.on('response', (res) => {
      // 405: the server offers no standalone stream; nothing to reopen.
      if (res.statusCode !== 200) {
        res.resume()
        if (this.standalone === req) this.standalone = undefined
        return
      }
      this.readStandalone(res, req)
      res.on('close', reopen)
    })
    req.end()
  }

  /** The standalone stream: notifications one event each; an event over maxResultBytes ends the stream (it is reopened). */
  private readStandalone(res: http.IncomingMessage, req: http.ClientRequest): void {
    res.setEncoding('utf8')
    const parser = createParser({
      maxBufferSize: this.maxResultBytes,
      onEvent: (event) => {
        if (event.data && !this.deliver(event.data)) this.onerror?.(new Error(`Ignored an event that is not JSON-RPC from ${this.where}`))
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') req.destroy()
      },
    })
    res.on('data', (chunk: string) => {
      if (!res.destroyed) parser.feed(chunk)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.reopenTimer)
    this.standalone?.destroy()
    for (const req of this.inflight.values()) req.destroy()
    this.inflight.clear()
    if (this.sessionId) {
      // Tell the server the session is over; best effort, never waited on for long.
      const req = this.client.request({ ...this.target, method: 'DELETE', headers: this.headers('application/json'), timeout: 1000 })
      req.on('error', () => {})
      req.on('timeout', () => req.destroy())
      req.on('response', (res) => res.resume())
      req.on('close', () => this.agent.destroy())
      req.end()
    } else this.agent.destroy()
    this.onclose?.()
  }
}
