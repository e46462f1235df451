import { StringDecoder } from 'node:string_decoder'
import { PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/client'
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'
import { createParser, type EventSourceParser } from 'eventsource-parser'
import { type Exchange as HttpExchange, Http1Pool, type RequestHead } from '../http/http1-client.js'
import { isJsonRpcMessage, isRequest } from '../http/jsonrpc.js'
import { encodeHeaderValue, paramHeadersFor } from '../http/param-headers.js'
import { traceHeadersOf } from '../telemetry/tracing.js'
import { failedExchange, httpStatusFailure, redact, RESULT_TOO_LARGE, UPSTREAM_BROKEN, UpstreamTransportError } from './errors.js'
import { markOwner } from './isolation.js'

/** What the SDK's protocol layer passes with a message beyond the 2025 options (2026-07-28 per-request streams). */
interface SendOptions extends TransportSendOptions {
  /** Extra request headers (`Mcp-Param-*`); the ones the transport owns are never overridden. */
  headers?: Record<string, string>
  /** Aborted to cancel a 2026 request: its HTTP exchange is closed (the 2026 way to cancel). */
  requestSignal?: AbortSignal
  /** Called when a request's stream ends without an answer (a `subscriptions/listen` stream). */
  onRequestStreamEnd?: () => void
  /** The Authorization this message goes with (upstream-auth/transport.ts). */
  authorization?: string
}

const OWN_HEADERS = new Set(['authorization', 'content-type', 'accept', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-session-id'])
/** The request field a 2026 request's `Mcp-Name` header mirrors, by method. */
const NAME_FIELD: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
}

/** One POST: the message, its serialized body and the headers it needs, kept for a retry on a fresh socket. */
interface Post {
  message: JSONRPCMessage
  id: RequestId | undefined
  body: string
  /** This request's own headers (none for most 2025 messages). */
  headers: Record<string, string> | undefined
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

/** What an answer reader needs of its transport. */
interface AnswerSink {
  readonly where: string
  readonly maxResultBytes: number
  deliver(text: string, owner?: unknown, answer?: Answer): boolean
  failRequest(id: RequestId, code: number, message: string): void
}

/**
 * Reads one POST's answer (JSON or an SSE stream) in linear time and bounded memory. For a request, a
 * result over maxResultBytes, garbage instead of JSON-RPC, or a socket cut before the response are
 * turned into an error for that request at once instead of a wait for requestTimeout.
 */
class Answer {
  /** Whether the response to `id` went by (true from the start for a notification's answer). */
  answered: boolean
  private readonly parts: Buffer[] = []
  private size = 0
  private readonly events: { parser: EventSourceParser; decoder: StringDecoder } | undefined
  /** Events after the first wait a turn of the event loop each (see inOrder). */
  private queue: Promise<void> | undefined

  constructor(
    private readonly sink: AnswerSink,
    readonly id: RequestId | undefined,
    private readonly owner: unknown,
    private readonly exchange: { abort(): void; aborted: boolean },
    contentType: string,
    /** Called instead of failing the request when the stream ends unanswered (a `subscriptions/listen` stream). */
    private readonly onStreamEnd?: () => void,
  ) {
    this.answered = id === undefined
    if (!contentType.includes('text/event-stream')) return
    const parser = createParser({
      maxBufferSize: sink.maxResultBytes,
      onEvent: (event) => {
        const data = event.data
        if (data) this.inOrder(() => sink.deliver(data, owner, this) || this.broken('sent an event that is not JSON-RPC.'))
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.tooLarge()
      },
    })
    this.events = { parser, decoder: new StringDecoder('utf8') }
  }

  data(chunk: Buffer): void {
    if (this.exchange.aborted) return
    if (this.events) return this.events.parser.feed(this.events.decoder.write(chunk))
    // A JSON answer is read as bytes and decoded once.
    this.size += chunk.length
    if (this.size > this.sink.maxResultBytes) return this.tooLarge()
    this.parts.push(chunk)
  }

  end(): void {
    if (!this.events && this.parts.length) {
      const text = (this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts)).toString('utf8')
      if (!this.sink.deliver(text, this.owner, this)) return this.broken('answered with something that is not JSON-RPC.')
    }
    if (!this.answered) this.inOrder(() => this.broken('ended its answer without a response.'))
  }

  /** The connection failed in the middle of the answer. */
  cut(): void {
    this.inOrder(() => this.broken('closed the connection in the middle of its answer.'))
  }

  /**
   * Runs `run` after what was read before it: the v2 SDK client dispatches notifications asynchronously,
   * and a response read in the same tick would otherwise overtake the progress before it.
   */
  private inOrder(run: () => void): void {
    if (!this.queue) {
      this.queue = Promise.resolve()
      run()
    } else this.queue = this.queue.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(run)
  }

  private settle(code: number, message: string): void {
    if (this.answered || this.exchange.aborted) return
    this.answered = true
    // A stream that answers nothing by design (subscriptions/listen) is told it ended; a request is failed.
    if (this.onStreamEnd) this.onStreamEnd()
    else this.sink.failRequest(this.id!, code, message)
  }

  private broken(why: string): void {
    this.settle(UPSTREAM_BROKEN, `The server at ${this.sink.where} ${why}`)
    this.exchange.abort()
  }

  private tooLarge(): void {
    this.settle(
      RESULT_TOO_LARGE,
      `The answer from ${this.sink.where} is larger than the ${this.sink.maxResultBytes}-byte limit. Try this: ask for less, or raise the gateway's maxResultBytes.`,
    )
    this.exchange.abort()
  }
}

/**
 * The gateway's Streamable HTTP client on kept-alive sockets (http1-client.ts), for both protocol eras: one
 * POST per message, answers read as JSON or as an SSE stream, the 2025 session's standalone GET stream for
 * server notifications, 2026 requests with the headers their body implies, and a cancelled request's HTTP
 * exchange closed at once. It replaces the SDK's fetch-based transport on the hot path: fetch and web
 * streams cost the gateway several times the CPU per call, and node:http's client about 75 µs more than
 * the pool underneath.
 */
export class HttpClientTransport implements Transport {
  /** The SDK's protocol layer cancels a 2026 request by aborting `requestSignal`, not by a notification. */
  readonly hasPerRequestStream = true
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  sessionId: string | undefined
  private protocolVersion: string | undefined
  private readonly pool: Http1Pool
  /** Each forwarded request's way to cancel its exchange, by id. */
  private readonly inflight = new Map<RequestId, () => void>()
  private standalone: HttpExchange | undefined
  private reopenTimer: NodeJS.Timeout | undefined
  private closed = false
  /** The URL as errors show it (credentials and query values removed), computed once. */
  readonly where: string
  /** The POST head for the current session and revision, and the same without the revision (a 2026 request carries its own). */
  private postHeads: { key: string; withVersion: RequestHead; withoutVersion: RequestHead } | undefined

  constructor(
    url: URL,
    private readonly extraHeaders: Record<string, string> = {},
    readonly maxResultBytes = 8 * 1024 * 1024,
    private readonly inputSchemaOf?: ToolSchemas,
  ) {
    this.pool = new Http1Pool(url)
    this.where = redact(url.toString())
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version
  }

  private headers(accept: string, withVersion = true): Record<string, string> {
    return {
      ...this.extraHeaders,
      accept,
      ...(this.sessionId ? { 'mcp-session-id': this.sessionId } : {}),
      ...(this.protocolVersion && withVersion ? { 'mcp-protocol-version': this.protocolVersion } : {}),
    }
  }

  /** A POST's fixed head, built once per session and revision rather than per request. */
  private postHead(withVersion: boolean): RequestHead {
    const key = `${this.sessionId}\n${this.protocolVersion}`
    if (this.postHeads?.key !== key) {
      const head = (version: boolean) =>
        this.pool.head('POST', { ...this.headers('application/json, text/event-stream', version), 'content-type': 'application/json' })
      this.postHeads = { key, withVersion: head(true), withoutVersion: head(false) }
    }
    return withVersion ? this.postHeads.withVersion : this.postHeads.withoutVersion
  }

  /**
   * Passes on each JSON-RPC message of a JSON text, noting on `answer` when its response goes by; returns
   * false when the text is not JSON-RPC at all.
   */
  deliver(text: string, owner?: unknown, answer?: Answer): boolean {
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      return false
    }
    for (const item of Array.isArray(data) ? data : [data]) {
      if (!isJsonRpcMessage(item)) return false
      const message = item as JSONRPCMessage
      if (answer && 'id' in message && message.id === answer.id && !('method' in message)) answer.answered = true
      // `owner`: the mark of the request whose answer carried the message (see isolation.ts).
      markOwner(message as never, owner)
      this.onmessage?.(message)
    }
    return true
  }

  /**
   * Fails one forwarded request at once with an error of our own (the upstream will never answer it now): a
   * broken exchange says so by type (errors.ts `failedExchange`), not by a code a server could send too.
   */
  failRequest(id: RequestId, code: number, message: string): void {
    if (this.closed) return
    this.onmessage?.(
      code === UPSTREAM_BROKEN ? (failedExchange(id, new UpstreamTransportError(message)) as JSONRPCMessage) : { jsonrpc: '2.0', id, error: { code, message } },
    )
  }

  send(message: JSONRPCMessage, options?: SendOptions): Promise<void> {
    if ('method' in message && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId
      if (requestId !== undefined) this.inflight.get(requestId)?.()
    }
    const id = isRequest(message) ? message.id : undefined
    if (options?.requestSignal?.aborted) return Promise.resolve()
    // Serialized first: a request that cannot be (too deep, a cycle) fails alone, before any socket is used.
    const body = JSON.stringify(message)
    let headers: Record<string, string> | undefined
    if (options?.headers) {
      headers = {}
      for (const [name, value] of Object.entries(options.headers)) if (!OWN_HEADERS.has(name.toLowerCase())) headers[name] = value
    }
    const envelope = envelopeHeaders(message, this.inputSchemaOf)
    const trace = traceHeadersOf(message)
    if (envelope || trace.traceparent) headers = { ...headers, ...envelope, ...trace }
    if (options?.authorization) headers = { ...headers, authorization: options.authorization }
    const post: Post = { message, id, body, headers, owner: id !== undefined ? options?.relatedRequestId : undefined, options }
    return this.post(post, true)
  }

  private post(post: Post, mayRetry: boolean): Promise<void> {
    const { message, id, body, owner, options } = post
    return new Promise((resolve, reject) => {
      const signal = options?.requestSignal
      let answer: Answer | undefined
      let refusal: ((chunk: Buffer | undefined) => void) | undefined
      let call: HttpExchange | undefined
      const done = () => {
        signal?.removeEventListener('abort', cancel)
        if (id !== undefined && this.inflight.get(id) === cancel) this.inflight.delete(id)
      }
      // Ends the exchange: ours (a cancellation) or the reader's (garbage, too large); nothing is reported after it.
      const exchange = {
        aborted: false,
        abort: () => {
          exchange.aborted = true
          call?.abort()
          done()
        },
      }
      const cancel = () => {
        exchange.abort()
        resolve()
      }
      // A 2026 request carries its own revision header; a 2025 message goes with the session's.
      const versioned = post.headers?.['mcp-protocol-version'] !== undefined
      try {
        call = this.pool.request(this.postHead(!versioned), post.headers, body, {
          onHead: (status, headers) => {
            const session = headers.get('mcp-session-id')
            if (session !== undefined) this.sessionId = session
            if (status === 400 && id !== undefined && versioned) {
              // A 2026 server refuses a request (unsupported revision, headers that disagree) with 400 and a JSON-RPC
              // error for it: that error is the request's answer.
              refusal = this.refusalReader(id, exchange, (delivered) => (delivered ? resolve() : reject(new Error(`HTTP 400 from ${this.where}`))))
              return
            }
            if (status >= 400) {
              const failure = httpStatusFailure(status, this.where, headers.get('retry-after'))
              // A refused token: the upstream-auth wrapper reads the challenge (refresh, step-up).
              if (status === 401 || status === 403) Object.assign(failure, { challenge: { status, header: headers.get('www-authenticate') ?? null } })
              reject(failure)
              return
            }
            resolve()
            if (status === 202) {
              if ('method' in message && message.method === 'notifications/initialized') this.openStandalone()
              return
            }
            answer = new Answer(this, id, owner, exchange, headers.get('content-type') ?? '', options?.onRequestStreamEnd)
          },
          onData: (chunk) => (answer ? answer.data(chunk) : refusal?.(chunk)),
          onEnd: () => {
            done()
            if (answer) answer.end()
            else refusal?.(undefined)
          },
          onError: (error, retryable) => {
            done()
            if (answer) return answer.cut()
            if (refusal) return refusal(undefined)
            // A kept-alive socket the server closed just as we reused it: the request never reached the server, so
            // it is sent once more on a fresh socket rather than counted as the upstream failing (Node's own advice).
            if (mayRetry && retryable && !this.closed) {
              this.post(post, false).then(resolve, reject)
              return
            }
            reject(error)
          },
        })
      } catch (error) {
        // A header that cannot be sent (a control character in a value): this request fails alone.
        return reject(error)
      }
      signal?.addEventListener('abort', cancel, { once: true })
      if (id !== undefined) this.inflight.set(id, cancel)
    })
  }

  /**
   * Reads a refusal's body (bounded; `undefined` ends it) and delivers it when it is a JSON-RPC error
   * answering request `id`.
   */
  private refusalReader(id: RequestId, exchange: { abort(): void }, settled: (delivered: boolean) => void): (chunk: Buffer | undefined) => void {
    const parts: Buffer[] = []
    let size = 0
    const read = (): boolean => {
      try {
        const answer = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>
        if (!isJsonRpcMessage(answer) || !('error' in answer) || answer.id !== id) return false
        this.onmessage?.(answer as JSONRPCMessage)
        return true
      } catch {
        return false
      }
    }
    return (chunk) => {
      if (!chunk) return settled(read())
      size += chunk.length
      parts.push(chunk)
      if (size <= 64 * 1024) return
      exchange.abort()
      settled(false)
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
    const call: HttpExchange = this.pool.request(this.pool.head('GET', this.headers('text/event-stream')), undefined, undefined, {
      onHead: (status) => {
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
        if (streaming || error.code !== 'ECONNREFUSED') return reopen()
        if (this.standalone === call) this.standalone = undefined
        this.onerror?.(new UpstreamTransportError(`The server at ${this.where} is not reachable (${error.code}).`))
      },
    })
    this.standalone = call
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
      const call = this.pool.request(this.pool.head('DELETE', this.headers('application/json')), undefined, undefined, { onHead() {}, onData() {}, onEnd: finish, onError: finish })
    } else this.pool.close()
    this.onclose?.()
  }
}
