// The gateway's Streamable HTTP client transport: one POST exchange per message, its answer read by http-answer.ts on the session of http-session.ts.
import { type JSONRPCMessage, type RequestId, type Transport, type TransportSendOptions } from '@modelcontextprotocol/client'
import type { Exchange as HttpExchange } from '../../http/http1-client.js'
import { isJsonRpcMessage, isRequest } from '../../http/jsonrpc.js'
import { traceHeadersOf } from '../../telemetry/tracing.js'
import { failedExchange, httpStatusFailure, UPSTREAM_BROKEN, UpstreamTransportError } from '../errors.js'
import { Answer } from './http-answer.js'
import { envelopeHeaders, OWN_HEADERS, type ToolSchemas } from './http-headers.js'
import { HttpSession } from './http-session.js'

/** The Authorization a message goes with, set by a protected upstream's wrapper (upstream-auth/transport.ts). */
interface UpstreamAuthorization {
  authorization?: string
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
  options: TransportSendOptions | undefined
}

/**
 * The gateway's Streamable HTTP client on kept-alive sockets (http1-client.ts), for both protocol eras: one
 * POST per message, answers read as JSON or as an SSE stream, the 2025 session's standalone GET stream for
 * server notifications, 2026 requests with the headers their body implies, and a cancelled request's HTTP
 * exchange closed at once. It replaces the SDK's fetch-based transport on the hot path: fetch and web
 * streams cost the gateway several times the CPU per call, and node:http's client about 75 µs more than
 * the pool underneath.
 */
export class HttpClientTransport extends HttpSession implements Transport {
  /** The SDK's protocol layer cancels a 2026 request by aborting `requestSignal`, not by a notification. */
  readonly hasPerRequestStream = true

  constructor(
    url: URL,
    extraHeaders?: Record<string, string>,
    maxResultBytes?: number,
    private readonly inputSchemaOf?: ToolSchemas,
  ) {
    super(url, extraHeaders, maxResultBytes)
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

  /**
   * A request's SSE stream the server ended before the response, its events numbered: resumed with a GET
   * from the last event after the delay the server asked for (SEP-1699); the response arrives there.
   */
  resume(answer: Answer, lastEventId: string, retryMs: number): void {
    const id = answer.id!
    let call: HttpExchange | undefined
    const exchange = {
      aborted: false,
      abort: () => {
        exchange.aborted = true
        clearTimeout(timer)
        call?.abort()
        if (this.inflight.get(id) === exchange.abort) this.inflight.delete(id)
      },
    }
    const refused = (why: string) => {
      exchange.abort()
      this.failRequest(id, UPSTREAM_BROKEN, `The server at ${this.where} ended its answer without a response, and ${why}.`)
    }
    const timer = setTimeout(() => {
      if (this.closed || exchange.aborted) return
      let resumed: Answer | undefined
      call = this.pool.request(this.pool.head('GET', { ...this.streamHeaders('text/event-stream'), 'last-event-id': lastEventId }), undefined, undefined, {
        onHead: (status, headers) => {
          if (status !== 200) return refused(`its resumption was refused (HTTP ${status})`)
          resumed = new Answer(this, id, answer.owner, exchange, headers.get('content-type') ?? '')
        },
        onData: (chunk) => {
          resumed?.data(chunk)
          // The stream stays the server's to keep open: once the response went by, it is no longer read.
          if (resumed?.answered) exchange.abort()
        },
        onEnd: () => resumed?.end(),
        onError: () => (resumed ? resumed.cut() : refused('its resumption failed')),
      })
    }, retryMs)
    timer.unref()
    this.inflight.set(id, exchange.abort)
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions & UpstreamAuthorization): Promise<void> {
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
    if (options?.authorization) {
      headers = { ...headers, authorization: options.authorization }
      if (options.relatedRequestId === undefined) this.authorization = options.authorization
    }
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
              refusal = this.refusalReader(id, exchange, (delivered) => (delivered ? resolve() : reject(httpStatusFailure(status, this.where))))
              return
            }
            if (status >= 400) {
              const failure = httpStatusFailure(status, this.where, headers.get('retry-after'))
              // A refused token: the upstream-auth wrapper reads the challenge (refresh, step-up).
              if (status === 401 || status === 403) Object.assign(failure, { challenge: { status, header: headers.get('www-authenticate') ?? null } })
              reject(failure)
              return
            }
            if (status === 202 && 'method' in message && message.method === 'notifications/initialized') {
              // The session is ready once its GET stream is: a request the server sends before that has nowhere to go.
              this.openStandalone().then(resolve)
              return
            }
            resolve()
            if (status === 202) return
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
}
