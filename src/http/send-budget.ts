import type { ServerResponse } from 'node:http'

/** Most bytes a client's other responses may hold unsent while one more is written (default 8 MiB). */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024

/** The bytes of a chunk as written (a string's length: what it takes at least, without a scan). */
const sizeOf = (chunk: unknown) => (typeof chunk === 'string' ? chunk.length : ArrayBuffer.isView(chunk) ? chunk.byteLength : 0)

/**
 * What each client has been sent and not yet read, over all its open responses and streams: a client that
 * stops reading must not make the process hold ever more for it. After a write that the socket did not
 * take at once, when what the client holds unsent besides that message exceeds the cap, its responses
 * holding the most are closed (its stalled streams) until it is under the cap again. So a client holds at
 * most the cap plus one message; a client that reads holds almost nothing unsent, so it is not the one closed.
 */
export class SendBudget {
  private readonly byClient = new Map<string, Set<ServerResponse>>()

  constructor(private readonly maxBytes = DEFAULT_MAX_BUFFERED_BYTES) {}

  /** Counts what `res` holds unsent toward `client` until it closes. */
  track(res: ServerResponse, client: string): void {
    let responses = this.byClient.get(client)
    if (!responses) this.byClient.set(client, (responses = new Set()))
    const own = responses.add(res)
    const { write, end } = res
    res.write = ((...args: Parameters<ServerResponse['write']>) => {
      const taken = write.apply(res, args)
      if (!taken) this.enforce(own, sizeOf(args[0]))
      return taken
    }) as ServerResponse['write']
    res.end = ((...args: Parameters<ServerResponse['end']>) => {
      end.apply(res, args)
      // (writableNeedDrain is false once ended, whatever is left unsent.)
      if (res.writableLength > res.writableHighWaterMark) this.enforce(own, sizeOf(args[0]))
      return res
    }) as ServerResponse['end']
    res.once('close', () => {
      own.delete(res)
      if (own.size === 0 && this.byClient.get(client) === own) this.byClient.delete(client)
    })
  }

  /** Closes the client's fullest responses while what they hold besides the message just written is over the cap. */
  private enforce(responses: Set<ServerResponse>, justWritten: number): void {
    let held = -justWritten
    for (const res of responses) held += res.writableLength
    if (held <= this.maxBytes) return
    for (const res of [...responses].sort((a, b) => b.writableLength - a.writableLength)) {
      if (held <= this.maxBytes) break
      held -= res.writableLength
      // Its connection goes with it: what the socket held is freed, and the client sees the stream end.
      res.destroy()
    }
  }
}
