// A Streamable HTTP upstream session on kept-alive sockets: its id and revision headers, the 2025 session's standalone GET stream, delivery of what arrives, and its close.
import { StringDecoder } from 'node:string_decoder'
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/client'
import { createParser } from 'eventsource-parser'
import { type Exchange as HttpExchange, Http1Pool, type RequestHead } from '../../http/http1-client.js'
import { isJsonRpcMessage } from '../../http/jsonrpc.js'
import { parseJsonBytes } from '../../http/long-strings.js'
import { redact, UpstreamTransportError } from '../errors.js'
import type { Answer } from './http-answer.js'
import { markOwner } from '../calls/index.js'

/** How long a new 2025 session waits for its GET stream's head before its next message goes anyway (here and in the bridge). */
export const STREAM_HEAD_WAIT_MS = 1000

/** The session half of the gateway's HTTP client (http-client.ts sends the POSTs on it). */
export abstract class HttpSession {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  sessionId: string | undefined
  private protocolVersion: string | undefined
  protected readonly pool: Http1Pool
  /** Each forwarded request's way to cancel its exchange, by id. */
  protected readonly inflight = new Map<RequestId, () => void>()
  private standalone: HttpExchange | undefined
  private reopenTimer: NodeJS.Timeout | undefined
  protected closed = false
  /** The token the session's own messages (initialize, not a caller's request) last went with, at a protected upstream: its GET and DELETE go with it too. */
  protected authorization: string | undefined
  /** The URL as errors show it (credentials and query values removed), computed once. */
  readonly where: string
  /** The POST head for the current session and revision, and the same without the revision (a 2026 request carries its own). */
  private postHeads: { key: string; withVersion: RequestHead; withoutVersion: RequestHead } | undefined

  constructor(
    url: URL,
    private readonly extraHeaders: Record<string, string> = {},
    readonly maxResultBytes = 8 * 1024 * 1024,
  ) {
    this.pool = new Http1Pool(url)
    this.where = redact(url.toString())
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version
  }

  protected headers(accept: string, withVersion = true): Record<string, string> {
    return {
      ...this.extraHeaders,
      accept,
      ...(this.sessionId ? { 'mcp-session-id': this.sessionId } : {}),
      ...(this.protocolVersion && withVersion ? { 'mcp-protocol-version': this.protocolVersion } : {}),
    }
  }

  /** A GET's or DELETE's headers: the session's, and the token it was opened with where the upstream is protected. */
  protected streamHeaders(accept: string): Record<string, string> {
    const headers = this.headers(accept)
    return this.authorization ? { ...headers, authorization: this.authorization } : headers
  }

  /** A POST's fixed head, built once per session and revision rather than per request. */
  protected postHead(withVersion: boolean): RequestHead {
    const key = `${this.sessionId}\n${this.protocolVersion}`
    if (this.postHeads?.key !== key) {
      const head = (version: boolean) =>
        this.pool.head('POST', { ...this.headers('application/json, text/event-stream', version), 'content-type': 'application/json' })
      this.postHeads = { key, withVersion: head(true), withoutVersion: head(false) }
    }
    return withVersion ? this.postHeads.withVersion : this.postHeads.withoutVersion
  }

  /**
   * Passes on each JSON-RPC message of a JSON text (or body), noting on `answer` when its response goes by;
   * returns false when the text is not JSON-RPC at all.
   */
  deliver(text: string | Buffer, owner?: unknown, answer?: Answer): boolean {
    let data: unknown
    try {
      data = typeof text === 'string' ? JSON.parse(text) : parseJsonBytes(text)
    } catch {
      return false
    }
    for (const item of Array.isArray(data) ? data : [data]) {
      if (!isJsonRpcMessage(item)) return false
      const message = item as JSONRPCMessage
      if (answer && 'id' in message && message.id === answer.id && !('method' in message)) answer.answered = true
      // `owner`: the mark of the request whose answer carried the message (see calls/isolation.ts).
      markOwner(message as never, owner)
      this.onmessage?.(message)
    }
    return true
  }

  /**
   * The session's GET stream, where list_changed and other unrelated notifications arrive; reopened when it
   * ends (at once after a stream that lasted, else after a second). A reopen that finds nobody listening at
   * the server's address says the server is gone: reported (`onerror`), so the member leaves its pool now
   * rather than at the next call or health ping. Resolves when the server has answered the GET, or after
   * STREAM_HEAD_WAIT_MS (a proxy may hold a stream's head until its first event).
   */
  protected openStandalone(): Promise<void> {
    if (this.closed || this.standalone) return Promise.resolve()
    let headSeen!: () => void
    const answered = new Promise<void>((resolve) => {
      headSeen = resolve
      setTimeout(resolve, STREAM_HEAD_WAIT_MS).unref()
    })
    const opened = Date.now()
    let streaming = false
    let feed: ((chunk: Buffer) => void) | undefined
    const reopen = () => {
      if (this.standalone !== call) return
      this.standalone = undefined
      if (this.closed) return
      this.reopenTimer = setTimeout(() => this.openStandalone(), Date.now() - opened > 1000 ? 0 : 1000)
      this.reopenTimer.unref()
    }
    const call: HttpExchange = this.pool.request(this.pool.head('GET', this.streamHeaders('text/event-stream')), undefined, undefined, {
      onHead: (status) => {
        headSeen()
        // 405: the server offers no standalone stream; nothing to reopen.
        if (status !== 200) {
          if (this.standalone === call) this.standalone = undefined
          return
        }
        streaming = true
        feed = this.standaloneReader(() => {
          call.abort()
          reopen()
        })
      },
      onData: (chunk) => feed?.(chunk),
      onEnd: () => {
        if (streaming) reopen()
      },
      onError: (error) => {
        headSeen()
        if (streaming || error.code !== 'ECONNREFUSED') return reopen()
        if (this.standalone === call) this.standalone = undefined
        this.onerror?.(new UpstreamTransportError(`The server at ${this.where} is not reachable (${error.code}).`))
      },
    })
    this.standalone = call
    return answered
  }

  /** The standalone stream: notifications one event each; an event over maxResultBytes ends the stream (`tooLarge` reopens it). */
  private standaloneReader(tooLarge: () => void): (chunk: Buffer) => void {
    const decoder = new StringDecoder('utf8')
    const parser = createParser({
      maxBufferSize: this.maxResultBytes,
      onEvent: (event) => {
        if (event.data && !this.deliver(event.data)) this.onerror?.(new Error(`Ignored an event that is not JSON-RPC from ${this.where}`))
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') tooLarge()
      },
    })
    return (chunk) => parser.feed(decoder.write(chunk))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.reopenTimer)
    this.standalone?.abort()
    for (const cancel of [...this.inflight.values()]) cancel()
    this.inflight.clear()
    if (this.sessionId) {
      // Tell the server the session is over; best effort, never waited on for long.
      const finish = () => {
        clearTimeout(timer)
        this.pool.close()
      }
      const timer = setTimeout(() => {
        call.abort()
        finish()
      }, 1000)
      const call = this.pool.request(this.pool.head('DELETE', this.streamHeaders('application/json')), undefined, undefined, { onHead() {}, onData() {}, onEnd: finish, onError: finish })
    } else this.pool.close()
    this.onclose?.()
  }
}
