import type { Transport } from '@modelcontextprotocol/server'
import { parseJsonRpcLine } from '../http/jsonrpc.js'

type Message = Parameters<NonNullable<Transport['onmessage']>>[0]
type SendOptions = Parameters<Transport['send']>[1]

/**
 * The `_meta` key naming the request a log or a server-to-client request belongs to, on stdio: one channel
 * carries every call's messages, and a gateway in front must give each caller its own (progress already
 * names its call by its token).
 */
export const RELATED_REQUEST_META = 'dev.airmcp/related-request'

/** What the key is put on: the messages about a call that nothing else on the wire ties to it. */
const ATTRIBUTED = new Set(['notifications/message', 'elicitation/create', 'sampling/createMessage', 'roots/list'])

/** `message` with the request it belongs to in its `_meta`, when the SDK says which (and nothing else does). */
export function withRelatedRequest<M extends object>(message: M, related: unknown): M {
  const method = (message as { method?: unknown }).method
  if ((typeof related !== 'string' && typeof related !== 'number') || !ATTRIBUTED.has(method as string)) return message
  const params = ((message as { params?: Record<string, unknown> }).params ?? {}) as Record<string, unknown>
  return { ...message, params: { ...params, _meta: { ...(params._meta as object | undefined), [RELATED_REQUEST_META]: related } } }
}

/** The longest line accepted, like the SDK's stdio transport: a bigger one is dropped with an error. */
const MAX_LINE_CHARS = 10 * 1024 * 1024

/**
 * Newline-delimited JSON-RPC on stdin/stdout for the runtime's stdio servers. It reads from the moment it
 * is made and holds what arrives until it is started, so the first message can decide the era
 * (`firstMessage()`) before an SDK server or `serveStdio` takes the wire. Lines are parsed with
 * `JSON.parse` and a shape check only, and writes go straight to stdout (or in batches, `batchWrites`): the
 * SDK's own stdio transport validates every line with zod and juggles listeners per write, which cost more
 * than the call.
 */
export class StdioWire implements Transport {
  onmessage?: Transport['onmessage']
  onclose?: () => void
  onerror?: (error: Error) => void
  /**
   * A codec that answers some messages itself (stdio-tool-calls.ts): it sees each message first, from the
   * first one held, and keeps what it answers from `onmessage`; told when the wire closes.
   */
  codec?: { take(message: Message): boolean; close(): void }
  private buffer = ''
  private held: Message[] = []
  private queued: string[] = []
  private flushed: Promise<void> | undefined
  private started = false
  private closed = false
  private readonly firstArrived: Promise<Message | undefined>
  private resolveFirst!: (message: Message | undefined) => void

  constructor(
    private readonly stdin: NodeJS.ReadableStream = process.stdin,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
  ) {
    this.firstArrived = new Promise((resolve) => (this.resolveFirst = resolve))
    stdin.setEncoding('utf8')
    stdin.on('data', this.onData)
    stdin.on('end', this.onEnd)
    stdin.on('error', this.onStreamError)
    stdout.on('error', this.onStreamError)
  }

  /** The first message the client sends (undefined when stdin ends before one). */
  firstMessage(): Promise<Message | undefined> {
    return this.firstArrived
  }

  /** Linear in what arrives: only the new chunk is searched for newlines, and the buffer is cut once per chunk. */
  private readonly onData = (chunk: string) => {
    let newline = chunk.indexOf('\n')
    if (newline < 0) this.buffer += chunk
    let start = 0
    while (newline >= 0) {
      const line = (start === 0 ? this.buffer + chunk.slice(0, newline) : chunk.slice(start, newline)).replace(/\r$/, '')
      if (start === 0) this.buffer = ''
      if (line.trim()) this.receive(line)
      start = newline + 1
      newline = chunk.indexOf('\n', start)
    }
    if (start > 0) this.buffer = chunk.slice(start)
    if (this.buffer.length > MAX_LINE_CHARS) {
      this.buffer = ''
      this.onerror?.(new Error(`Dropped a stdin line longer than ${MAX_LINE_CHARS} characters.`))
    }
  }

  private receive(line: string): void {
    const parsed = parseJsonRpcLine(line)
    if (!parsed) {
      this.onerror?.(new Error(`Ignored a stdin line that is not JSON-RPC: ${line.slice(0, 80)}`))
      return
    }
    const message = parsed as Message
    this.resolveFirst(message)
    if (this.started) this.deliver(message)
    else this.held.push(message)
  }

  private deliver(message: Message): void {
    if (!this.codec?.take(message)) this.onmessage?.(message)
  }

  private readonly onEnd = () => {
    this.resolveFirst(undefined)
    void this.close()
  }

  private readonly onStreamError = (error: Error) => {
    if (!this.closed) this.onerror?.(error)
  }

  async start(): Promise<void> {
    this.started = true
    // Delivered in order, each after the previous one's synchronous handling, as a live stream would.
    for (const message of this.held.splice(0)) this.deliver(message)
  }

  /**
   * Messages sent while one chunk of input is handled go out in one write, at the end of that turn. Worth
   * it where calls are cheap (a connection whose calls its codec answers, in either era: a write per
   * message was a third of a call's CPU); where they are not, writing at once keeps client and server
   * working in parallel.
   */
  batchWrites = false

  send(message: Message, options?: SendOptions): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The stdio connection is closed.'))
    message = withRelatedRequest(message, options?.relatedRequestId)
    if (!this.batchWrites) return this.write(`${JSON.stringify(message)}\n`)
    this.queued.push(JSON.stringify(message))
    this.flushed ??= new Promise((resolve) => process.nextTick(() => resolve(this.flush())))
    return this.flushed
  }

  private flush(): Promise<void> {
    this.flushed = undefined
    if (!this.queued.length) return Promise.resolve()
    const data = `${this.queued.join('\n')}\n`
    this.queued = []
    return this.write(data)
  }

  private write(data: string): Promise<void> {
    if (this.stdout.write(data)) return Promise.resolve()
    return new Promise((resolve) => this.stdout.once('drain', resolve))
  }

  async close(): Promise<void> {
    if (this.closed) return
    void this.flush()
    this.closed = true
    this.stdin.off('data', this.onData)
    this.stdin.off('end', this.onEnd)
    this.stdin.off('error', this.onStreamError)
    this.stdout.off('error', this.onStreamError)
    this.stdin.pause()
    this.resolveFirst(undefined)
    this.codec?.close()
    this.onclose?.()
  }
}
