import http from 'node:http'
import https from 'node:https'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { isJSONRPCRequest, JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js'
import { traceHeadersOf } from '../telemetry/tracing.js'

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
  private standalone: http.ClientRequest | undefined
  private reopenTimer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly url: URL,
    private readonly extraHeaders: Record<string, string> = {},
  ) {
    this.client = url.protocol === 'https:' ? https : http
    this.agent = new this.client.Agent({ keepAlive: true })
  }

  /** Messages already sent again after a stale kept-alive socket (each gets one more try). */
  private readonly resent = new WeakSet<object>()

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

  private deliver(text: string): void {
    const data = JSON.parse(text) as unknown
    for (const raw of Array.isArray(data) ? data : [data]) {
      const parsed = JSONRPCMessageSchema.safeParse(raw)
      if (parsed.success) this.onmessage?.(parsed.data)
      else this.onerror?.(new Error(`Invalid JSON-RPC message from ${this.url}`))
    }
  }

  /** Reads `data:` lines of an SSE stream, one message per event. */
  private readEvents(res: http.IncomingMessage): void {
    let buffer = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      buffer += chunk
      let end: number
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
        const data = block
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n')
        if (data) {
          try {
            this.deliver(data)
          } catch (error) {
            this.onerror?.(error as Error)
          }
        }
      }
    })
  }

  send(message: JSONRPCMessage): Promise<void> {
    if ('method' in message && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId
      if (requestId !== undefined) this.inflight.get(requestId)?.destroy()
    }
    const id = isJSONRPCRequest(message) ? message.id : undefined
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
      req.on('error', (error) => {
        done()
        // A kept-alive socket the server closed while idle: the request never reached it, so send it once more.
        if (req.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET' && !this.resent.has(message)) {
          this.resent.add(message)
          this.send(message).then(resolve, reject)
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
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => reject(new Error(`HTTP ${status} from ${this.url}: ${text.slice(0, 200)}`)))
          return
        }
        resolve()
        if (status === 202) {
          res.resume()
          if ('method' in message && message.method === 'notifications/initialized') this.openStandalone()
          return
        }
        if ((res.headers['content-type'] ?? '').includes('text/event-stream')) return this.readEvents(res)
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => {
          if (!text) return
          try {
            this.deliver(text)
          } catch (error) {
            this.onerror?.(error as Error)
          }
        })
      })
      req.end(JSON.stringify(message))
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
      this.readEvents(res)
      res.on('close', reopen)
    })
    req.end()
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
