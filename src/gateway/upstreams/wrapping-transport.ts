// The one delegation every client transport wrapper of the gateway shares (direct requests, session resumption, upstream authorization).
import type { Transport } from '@modelcontextprotocol/client'

type Received = Parameters<NonNullable<Transport['onmessage']>>

/**
 * A client transport around another: starting, closing, the session id and the protocol version are the
 * inner transport's, and its events come up through `received` and `closed`, which a wrapper overrides to
 * take what is its own. Each wrapper writes only `send` and what it adds.
 */
export abstract class WrappingTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: Transport['onmessage']

  constructor(readonly inner: Transport) {
    inner.onmessage = (...received) => this.received(...received)
    inner.onclose = () => this.closed()
    inner.onerror = (error) => this.onerror?.(error)
  }

  /** A message from the inner transport: passed on unless the wrapper takes it. */
  protected received(...[message, extra]: Received): void {
    this.onmessage?.(message, extra)
  }

  /** The inner transport closed. */
  protected closed(): void {
    this.onclose?.()
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId
  }

  /** A lost 2025 session is dropped through here before a new one starts (session-resume.ts). */
  set sessionId(value: string | undefined) {
    ;(this.inner as { sessionId?: string }).sessionId = value
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version)
  }

  start(): Promise<void> {
    return this.inner.start()
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  abstract send(...args: Parameters<Transport['send']>): Promise<void>
}
