import { ProtocolError, SdkError, SdkErrorCode, type Transport } from '@modelcontextprotocol/client'
import { cancelledBy, type ForwardOptions, markOwner, onCancel, OWNER_MARK } from '../calls/index.js'
import { RELATED_REQUEST_META } from '../../runtime/stdio-wire.js'
import { exchangeFailureOf } from '../errors.js'
import { WrappingTransport } from './wrapping-transport.js'

type Params = Record<string, unknown>
type Message = { jsonrpc: '2.0'; id?: string | number; method?: string; params?: Params; result?: Params; error?: { code: number; message: string; data?: unknown } }

interface Pending {
  resolve(result: Params): void
  reject(error: unknown): void
  onprogress?: ForwardOptions['onprogress']
  /** The mark of the client request this one is made for (isolation.ts). */
  mark?: string
}

/** The mark of a request that is over: what names it belongs to nobody now (isolation.ts `takeOwner`). */
const ENDED = 'ended'

const SERVER_INFO = 'io.modelcontextprotocol/serverInfo'

/**
 * An upstream's result as the gateway passes it on: without the upstream's `serverInfo`, which names the
 * server producing the response (2026-07-28) and so must be the gateway's (the front adds its own).
 */
export function asGatewayResult(result: Params): Params {
  const meta = result._meta as Params | undefined
  if (!meta || !(SERVER_INFO in meta)) return result
  const { [SERVER_INFO]: _upstream, ...rest } = meta
  const { _meta: _dropped, ...others } = result
  return Object.keys(rest).length ? { ...others, _meta: rest } : others
}

/** Our request ids: strings the SDK's numeric ids, listen ids (`listen:N`) and resume ids never equal. */
const ID_PREFIX = 'airmcp-call-'

/**
 * A client transport wrapper through which the router sends forwarded requests itself, beside the SDK
 * client connected to it. The SDK's protocol layer checks every message it reads against its schemas and
 * keeps per-request state the gateway does not need to forward a call; on the hot path that cost more than
 * the hop. Requests sent here carry the same `_meta` envelope, progress token, timeout and cancellation the
 * SDK would give them; their answers and progress are taken out before the SDK sees the stream, and every
 * other message (server requests, logs, list changes, the SDK's own requests' answers) goes on to it.
 */
export class DirectRequestsTransport extends WrappingTransport {
  /** The 2026-07-28 `_meta` envelope of this connection (protocol version, client info and capabilities), once negotiated. */
  envelope: Params | undefined
  /**
   * Logs, handled here in the order they were read, like progress and answers: a log of a call reaches
   * its client before that call's result (the SDK client would dispatch it a turn later than an answer).
   */
  onlog?: (params: Params) => void
  private readonly pending = new Map<string, Pending>()
  private next = 0

  /** Answers, progress and logs of our own requests are taken here; everything else goes on to the SDK. */
  protected override received(...[message, extra]: Parameters<NonNullable<Transport['onmessage']>>): void {
    if (!this.take(message as Message)) this.onmessage?.(message, extra)
  }

  protected override closed(): void {
    this.failAll()
    this.onclose?.()
  }

  /** 2026 requests over Streamable HTTP are cancelled by closing their exchange; the SDK asks the transport. */
  get hasPerRequestStream(): boolean | undefined {
    return (this.inner as { hasPerRequestStream?: boolean }).hasPerRequestStream
  }

  send(message: Parameters<Transport['send']>[0], options?: Parameters<Transport['send']>[1]): Promise<void> {
    return this.inner.send(message, options)
  }

  /**
   * Sends one request and resolves with its result as the server sent it (an `input_required` result
   * included); rejects with the error classes the SDK client uses, so the router reads failures alike.
   */
  request(method: string, params: Params, options: ForwardOptions): Promise<Params> {
    const id = `${ID_PREFIX}${++this.next}`
    const { timeout, onprogress, relatedRequestId, resetTimeoutOnProgress, maxTotalTimeout } = options
    const cancelled = cancelledBy(options)
    if (cancelled) return Promise.reject(asSdkError(cancelled.reason))
    let meta = params._meta as Params | undefined
    if (onprogress) meta = { ...meta, progressToken: id }
    if (this.envelope) meta = { ...this.envelope, ...meta }
    const message: Message = { jsonrpc: '2.0', id, method, params: meta ? { ...params, _meta: meta } : params }
    // A 2026 request on its own HTTP exchange is cancelled by closing it; anything else by a notification.
    const exchange = this.envelope && this.hasPerRequestStream ? new AbortController() : undefined
    return new Promise<Params>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      let stopListening: (() => void) | undefined
      const settle = () => {
        this.pending.delete(id)
        clearTimeout(timer)
        stopListening?.()
      }
      const cancel = (reason: unknown) => {
        if (!this.pending.has(id)) return
        settle()
        if (exchange) exchange.abort()
        else void this.inner.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: String(reason) } } as never, { relatedRequestId }).catch(() => {})
        reject(asSdkError(reason))
      }
      // As the SDK's `resetTimeoutOnProgress`: each progress starts the timeout again, within `maxTotalTimeout`.
      const limit = timeout ?? 60_000
      const startedAt = Date.now()
      const arm = () => {
        const total = maxTotalTimeout === undefined ? Number.POSITIVE_INFINITY : maxTotalTimeout - (Date.now() - startedAt)
        clearTimeout(timer)
        // Which bound the timer is for is known now: a timer may fire a millisecond early by Date.now().
        const ofTotal = total <= limit
        timer = setTimeout(() => expire(ofTotal), Math.max(1, Math.min(limit, total)))
      }
      const expire = (ofTotal: boolean) => {
        cancel(
          ofTotal
            ? new SdkError(SdkErrorCode.RequestTimeout, 'Maximum total timeout exceeded', { maxTotalTimeout, totalElapsed: Date.now() - startedAt })
            : new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout: limit }),
        )
      }
      this.pending.set(id, {
        resolve: (result) => (settle(), resolve(result)),
        reject: (error) => (settle(), reject(error)),
        onprogress: resetTimeoutOnProgress ? (progress) => (arm(), onprogress?.(progress)) : onprogress,
        mark: typeof relatedRequestId === 'string' ? relatedRequestId : undefined,
      })
      stopListening = onCancel(options, cancel)
      arm()
      const failed = (error: unknown) => this.pending.get(id)?.reject(error)
      // A message that cannot be serialized throws before any promise exists: it fails this request alone.
      try {
        this.inner.send(message as never, { relatedRequestId, requestSignal: exchange?.signal }).catch(failed)
      } catch (error) {
        failed(error)
      }
    })
  }

  /** Handles an answer, a progress notification or a log of our own requests; false for anything else. */
  private take(message: Message): boolean {
    this.attribute(message)
    if (message.method === 'notifications/message' && this.onlog) {
      this.onlog(message.params ?? {})
      return true
    }
    if (message.method === undefined) {
      const pending = typeof message.id === 'string' ? this.pending.get(message.id) : undefined
      if (!pending) return false
      // The server's error answer, or our transport's word that the exchange broke (never a server's to forge).
      if (message.error) pending.reject(exchangeFailureOf(message) ?? ProtocolError.fromError(message.error.code, message.error.message, message.error.data))
      else pending.resolve(asGatewayResult(message.result ?? {}))
      return true
    }
    if (message.method !== 'notifications/progress') return false
    const { progressToken, ...progress } = message.params ?? {}
    const pending = typeof progressToken === 'string' ? this.pending.get(progressToken) : undefined
    if (!pending) return false
    pending.onprogress?.(progress as never)
    return true
  }

  /**
   * A message that names the request it belongs to (a stdio server of the airmcp runtime does, stdio-wire.ts)
   * is marked with that request's owner, as a message read from a request's own HTTP stream is.
   */
  private attribute(message: Message): void {
    const meta = message.params?._meta as Params | undefined
    if (!meta || !(RELATED_REQUEST_META in meta)) return
    const { [RELATED_REQUEST_META]: related, ...rest } = meta
    const { _meta: _named, ...params } = message.params!
    message.params = Object.keys(rest).length ? { ...params, _meta: rest } : params
    if (typeof related !== 'string' || !related.startsWith(ID_PREFIX) || OWNER_MARK in rest) return
    // One of our requests that is over (or that the server made up) belongs to nobody now.
    const pending = this.pending.get(related)
    if (!pending || pending.mark) markOwner(message, pending ? pending.mark : ENDED)
  }

  private failAll(): void {
    const closed = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed')
    for (const pending of [...this.pending.values()]) pending.reject(closed)
  }
}

/** The SDK client rejects a cancelled or timed-out request with an SdkError; so does this. */
function asSdkError(reason: unknown): SdkError {
  return reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason))
}
