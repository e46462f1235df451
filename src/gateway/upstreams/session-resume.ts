import { type JSONRPCMessage, type JSONRPCRequest, type RequestId, SdkHttpError, type Transport } from '@modelcontextprotocol/client'
import { UpstreamTransportError } from '../errors.js'
import { WrappingTransport } from './wrapping-transport.js'

/**
 * Whether a failed send is the server saying it no longer knows the 2025 session (HTTP 404: it restarted,
 * or the session expired), as the gateway's HTTP client reports it (errors.ts `httpStatusFailure`) or the
 * SDK's (the bridge's transport).
 */
export function isSessionGone(error: unknown): boolean {
  if (error instanceof SdkHttpError) return error.status === 404
  return error instanceof UpstreamTransportError && (error.data as { status?: number } | undefined)?.status === 404
}

const isInitialize = (message: JSONRPCMessage): message is JSONRPCRequest =>
  'method' in message && message.method === 'initialize' && 'id' in message

/**
 * Wraps a Streamable HTTP client transport so a server restart goes unnoticed: when a message is refused
 * because the session is gone, the wrapper starts a new session by replaying the `initialize` it saw
 * (the answer is kept from the client, which already has one), sends `notifications/initialized`, and
 * repeats the message once. Requests that fail any other way fail as before.
 */
export class SessionResumingTransport extends WrappingTransport {
  private initialize: JSONRPCRequest | undefined
  private resuming: Promise<void> | undefined
  private readonly internal = new Map<RequestId, { resolve: () => void; reject: (error: Error) => void }>()
  private resumes = 0

  constructor(
    inner: Transport,
    private readonly onResume?: (sessionId: string | undefined) => void,
  ) {
    super(inner)
  }

  /** The answer to a resumption's own `initialize` stays here; everything else goes on. */
  protected override received(...[message, extra]: Parameters<NonNullable<Transport['onmessage']>>): void {
    const id = 'id' in message && !('method' in message) ? message.id : undefined
    const waiter = id === undefined ? undefined : this.internal.get(id)
    if (!waiter) return this.onmessage?.(message, extra)
    this.internal.delete(id!)
    if ('error' in message) waiter.reject(new Error(`The new session was refused: ${message.error.message}`))
    else waiter.resolve()
  }

  /** How many times a new session was started in place of a lost one. */
  get resumed(): number {
    return this.resumes
  }

  send(message: JSONRPCMessage, options?: Parameters<Transport['send']>[1]): Promise<void> {
    if (isInitialize(message)) this.initialize = message
    const session = this.inner.sessionId
    return this.inner.send(message, options).catch(async (error: unknown) => {
      if (!isSessionGone(error) || !this.initialize || isInitialize(message)) throw error
      // Several requests may learn it at once: one new session serves them all.
      if (this.inner.sessionId === session) await this.resume()
      await this.inner.send(message, options)
    })
  }

  private resume(): Promise<void> {
    this.resuming ??= (async () => {
      try {
        // Some transports would send the stale id with the new initialize; they expose it as a plain field.
        ;(this.inner as { sessionId?: string }).sessionId = undefined
      } catch {
        // A getter-only session id (the SDK's transport) is dropped by the transport on initialize itself.
      }
      const id = `airmcp-resume-${++this.resumes}`
      const answered = new Promise<void>((resolve, reject) => this.internal.set(id, { resolve, reject }))
      try {
        await this.inner.send({ ...this.initialize!, id })
      } catch (error) {
        this.internal.delete(id)
        throw error
      }
      await answered
      await this.inner.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
      this.onResume?.(this.inner.sessionId)
    })().finally(() => {
      this.resuming = undefined
    })
    return this.resuming
  }
}
