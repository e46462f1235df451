import http from 'node:http'
import https from 'node:https'
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js'
import { isJSONRPCRequest, JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js'
import { traceHeadersOf } from '../telemetry/tracing.js'
import { createParser } from 'eventsource-parser'
import { redact, RESULT_TOO_LARGE, UPSTREAM_BROKEN, UpstreamTransportError } from './errors.js'
import { markOwner } from './isolation.js'

/**
 * The gateway's Streamable HTTP client on node:http with keep-alive sockets: one POST per message, answers
 * read as JSON or as an SSE stream, the session's standalone GET stream for server notifications, and a
 * cancelled request's HTTP exchange closed at once.
 */
export class HttpClientTransport implements Transport {
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

  constructor(
    private readonly url: URL,
    private readonly extraHeaders: Record<string, string> = {},
    private readonly maxResultBytes = 8 * 1024 * 1024,
  ) {
    this.client = url.protocol === 'https:' ? https : http
    this.agent = new this.client.Agent({ keepAlive: true })
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
    for (const raw of Array.isArray(data) ? data : [data]) {
      const parsed = JSONRPCMessageSchema.safeParse(raw)
      if (!parsed.success) return false
      const message = parsed.data
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
  private readAnswer(req: http.ClientRequest, res: http.IncomingMessage, id: RequestId | undefined, owner?: unknown): void {
    const where = redact(this.url.toString())
    let answered = id === undefined
    const settle = (code: number, message: string) => {
      if (answered || this.cancelled.has(req)) return
      answered = true
      this.failRequest(id!, code, message)
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
    res.setEncoding('utf8')
    res.on('close', () =>
      inOrder(() => {
        if (!res.complete) broken('closed the connection in the middle of its answer.')
        else broken('ended its answer without a response.')
      }),
    )
    if ((res.headers['content-type'] ?? '').includes('text/event-stream')) {
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
    const parts: string[] = []
    let size = 0
    res.on('data', (chunk: string) => {
      size += Buffer.byteLength(chunk)
      if (size > this.maxResultBytes) return tooLarge()
      parts.push(chunk)
    })
    res.on('end', () => {
      const text = parts.join('')
      if (text && !this.deliver(text, mine, owner)) broken('answered with something that is not JSON-RPC.')
    })
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('method' in message && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId
      const req = requestId === undefined ? undefined : this.inflight.get(requestId)
      if (req) {
        this.cancelled.add(req)
        req.destroy()
      }
    }
    const id = isJSONRPCRequest(message) ? message.id : undefined
    // Serialized first: a request that cannot be (too deep, a cycle) fails alone, before any socket is used.
    const body = JSON.stringify(message)
    return this.post(message, id, body, true, id !== undefined ? options?.relatedRequestId : undefined)
  }

  private post(message: JSONRPCMessage, id: RequestId | undefined, body: string, mayRetry: boolean, owner?: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.client.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...this.headers('application/json, text/event-stream'), 'content-type': 'application/json', ...traceHeadersOf(message) },
      })
      const done = () => {
        if (id !== undefined && this.inflight.get(id) === req) this.inflight.delete(id)
      }
      if (id !== undefined) this.inflight.set(id, req)
      req.on('error', (error: NodeJS.ErrnoException) => {
        done()
        // A kept-alive socket the server closed just as we reused it: the request never reached the server, so
        // it is sent once more on a fresh socket rather than counted as the upstream failing (Node's own advice).
        if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET' && !this.cancelled.has(req) && !this.closed) {
          this.post(message, id, body, false, owner).then(resolve, reject)
          return
        }
        reject(error)
      })
      req.on('response', (res) => {
        const session = res.headers['mcp-session-id']
        if (typeof session === 'string') this.sessionId = session
        const status = res.statusCode ?? 0
        res.on('close', done)
        if (status >= 400) {
          res.resume()
          // The body is the upstream's to read, not ours to show (it may echo secrets); the status says enough.
          const text = `HTTP ${status} from ${redact(this.url.toString())}`
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
        this.readAnswer(req, res, id, owner)
      })
      req.end(body)
    })
  }

  /** The session's GET stream, where list_changed and other unrelated notifications arrive; reopened when it ends. */
  private openStandalone(): void {
    if (this.closed || this.standalone) return
    const req = this.client.request(this.url, { method: 'GET', agent: this.agent, headers: this.headers('text/event-stream') })
    this.standalone = req
    const reopen = () => {
      if (this.standalone !== req) return
      this.standalone = undefined
      if (this.closed) return
      this.reopenTimer = setTimeout(() => this.openStandalone(), 1000)
      this.reopenTimer.unref()
    }
    req.on('error', reopen)
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
        if (event.data && !this.deliver(event.data)) this.onerror?.(new Error(`Ignored an event that is not JSON-RPC from ${redact(this.url.toString())}`))
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
      const req = this.client.request(this.url, { method: 'DELETE', agent: this.agent, headers: this.headers('application/json'), timeout: 1000 })
      req.on('error', () => {})
      req.on('timeout', () => req.destroy())
      req.on('response', (res) => res.resume())
      req.on('close', () => this.agent.destroy())
      req.end()
    } else this.agent.destroy()
    this.onclose?.()
  }
}
