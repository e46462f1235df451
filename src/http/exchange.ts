// One 2026-07-28 request's HTTP answer: one JSON body, or an SSE stream once a notification or a keep-alive tick comes first.
import type { ServerResponse } from 'node:http'
import { KEEP_ALIVE_COMMENT } from './keep-alive.js'
import { endWithJson } from './long-strings.js'

type Params = Record<string, unknown>

/**
 * One 2026 exchange: answered as one JSON body unless a notification about the request comes first,
 * then as an SSE stream whose last event is the answer. Progress and logs go out in the order they are
 * sent, before the answer, because they are written to the same response first.
 */
export class Exchange {
  private streaming = false
  /** Seen open at a keep-alive tick: still open at the next, it has waited a whole interval. */
  private waited = false

  constructor(private readonly res: ServerResponse) {}

  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed
  }

  notify(notification: { method: string; params?: Params }): void {
    if (!this.open) return
    this.toStream()
    this.res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...notification })}\n\n`)
  }

  /** A keep-alive tick (src/http/keep-alive.ts): unanswered since the last one, it becomes a stream and gets a comment. */
  keepAlive(): void {
    if (!this.open) return
    if (!this.waited) {
      this.waited = true
      return
    }
    this.toStream()
    this.res.write(KEEP_ALIVE_COMMENT)
  }

  private toStream(): void {
    if (this.streaming) return
    this.streaming = true
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive' })
  }

  answer(message: Params, status = 200): void {
    if (!this.open) return
    if (this.streaming) return void this.res.end(`event: message\ndata: ${JSON.stringify(message)}\n\n`)
    endWithJson(this.res, status, { 'content-type': 'application/json' }, message)
  }
}
