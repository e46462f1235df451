// The answer reader of one POST to a Streamable HTTP upstream: a JSON body or an SSE stream, bounded, turned into an error for its request when broken.
import { StringDecoder } from 'node:string_decoder'
import type { RequestId } from '@modelcontextprotocol/client'
import { createParser, type EventSourceParser } from 'eventsource-parser'
import { RESULT_TOO_LARGE, UPSTREAM_BROKEN } from '../errors.js'

/** What an answer reader needs of its transport. */
export interface AnswerSink {
  readonly where: string
  readonly maxResultBytes: number
  deliver(text: string | Buffer, owner?: unknown, answer?: Answer): boolean
  failRequest(id: RequestId, code: number, message: string): void
  /** Resumes a stream the server ended before the response (SSE resumability): a GET with Last-Event-ID after `retryMs`. */
  resume?(answer: Answer, lastEventId: string, retryMs: number): void
}

/** How long to wait before resuming an SSE stream whose server named no `retry`. */
const DEFAULT_RETRY_MS = 1000

/**
 * Reads one POST's answer (JSON or an SSE stream) in linear time and bounded memory. For a request, a
 * result over maxResultBytes, garbage instead of JSON-RPC, or a socket cut before the response are
 * turned into an error for that request at once instead of a wait for requestTimeout.
 */
export class Answer {
  /** Whether the response to `id` went by (true from the start for a notification's answer). */
  answered: boolean
  private readonly parts: Buffer[] = []
  private size = 0
  private readonly events: { parser: EventSourceParser; decoder: StringDecoder } | undefined
  /** The SSE stream's last event id and the reconnection delay it asked for: where a resumed stream starts. */
  private lastEventId: string | undefined
  private retryMs = DEFAULT_RETRY_MS

  constructor(
    private readonly sink: AnswerSink,
    readonly id: RequestId | undefined,
    readonly owner: unknown,
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
        if (event.id !== undefined) this.lastEventId = event.id
        const data = event.data
        // Each event is handled as it is read: the gateway's transport takes a call's progress, logs and answer in order.
        if (data && !sink.deliver(data, owner, this)) this.broken('sent an event that is not JSON-RPC.')
      },
      onRetry: (ms) => {
        this.retryMs = ms
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
    // A JSON answer is read as bytes and parsed once (its long strings kept as they came: long-strings.ts).
    this.size += chunk.length
    if (this.size > this.sink.maxResultBytes) return this.tooLarge()
    this.parts.push(chunk)
  }

  end(): void {
    if (!this.events && this.parts.length) {
      const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)
      if (!this.sink.deliver(body, this.owner, this)) return this.broken('answered with something that is not JSON-RPC.')
    }
    if (this.answered || this.exchange.aborted) return
    // A stream with event ids ended before the response: the server means it to be resumed (SEP-1699).
    if (this.events && this.lastEventId !== undefined && this.id !== undefined && this.sink.resume) return this.sink.resume(this, this.lastEventId, this.retryMs)
    this.broken('ended its answer without a response.')
  }

  /** The connection failed in the middle of the answer. */
  cut(): void {
    this.broken('closed the connection in the middle of its answer.')
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
