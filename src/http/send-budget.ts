import type { ServerResponse } from 'node:http'

/** Most bytes a client's responses may hold unsent besides the message being written (the gateway's default, 4 MiB). */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024

/** How long a response may hold unsent bytes without draining before it counts as stalled (its client stopped reading). */
const STALL_MS = 1000

/** The bytes of a chunk as written (a string's length: what it takes at least, without a scan). */
const sizeOf = (chunk: unknown) => (typeof chunk === 'string' ? chunk.length : ArrayBuffer.isView(chunk) ? chunk.byteLength : 0)

/** Set on a response by a writer that writes one message in several parts: its whole size, counted as the message being written. */
export const MESSAGE_BYTES = Symbol('messageBytes')

/** A client's open responses, each with when it began to hold unsent bytes (undefined while it holds none). */
interface ClientResponses {
  held: Map<ServerResponse, number | undefined>
  recheck?: NodeJS.Timeout
}

/**
 * What each client has been sent and not yet read, over all its open responses and streams: a client that
 * stops reading must not make the process hold ever more for it. Past the cap (besides the message just
 * written), the client's stalled responses (holding bytes for a second without draining) are closed,
 * longest-stalled first, until it is under the cap again: responses that are being read drain within that
 * second, so a client that reads is not cut off for having several large answers in flight at once. Past
 * twice the cap, its fullest responses are closed whatever their age: what a client holds stays bounded.
 */
export class SendBudget {
  private readonly byClient = new Map<string, ClientResponses>()

  constructor(private readonly maxBytes = DEFAULT_MAX_BUFFERED_BYTES) {}

  /** Counts what `res` holds unsent toward `client` until it closes. */
  track(res: ServerResponse, client: string): void {
    let responses = this.byClient.get(client)
    if (!responses) this.byClient.set(client, (responses = { held: new Map() }))
    const own = responses
    own.held.set(res, undefined)
    const { write, end } = res
    const wrote = (chunk: unknown) => {
      if (own.held.get(res) === undefined) own.held.set(res, Date.now())
      this.enforce(own, (res as { [MESSAGE_BYTES]?: number })[MESSAGE_BYTES] ?? sizeOf(chunk))
    }
    res.write = ((...args: Parameters<ServerResponse['write']>) => {
      const taken = write.apply(res, args)
      if (!taken) wrote(args[0])
      return taken
    }) as ServerResponse['write']
    res.end = ((...args: Parameters<ServerResponse['end']>) => {
      end.apply(res, args)
      // (writableNeedDrain is false once ended, whatever is left unsent.)
      if (res.writableLength > res.writableHighWaterMark) wrote(args[0])
      return res
    }) as ServerResponse['end']
    const drained = () => {
      if (own.held.has(res)) own.held.set(res, undefined)
    }
    res.on('drain', drained)
    res.once('finish', drained)
    res.once('close', () => {
      own.held.delete(res)
      if (own.held.size > 0 || this.byClient.get(client) !== own) return
      clearTimeout(own.recheck)
      this.byClient.delete(client)
    })
  }

  /**
   * Closes the client's responses while what it holds besides the message just written is over the cap:
   * stalled ones past the cap, the fullest past twice it. Looks again once the oldest could have stalled.
   */
  private enforce(responses: ClientResponses, justWritten: number): void {
    // (A response closed here stays listed until its 'close' event: it holds nothing any more.)
    const live = [...responses.held].filter(([res]) => !res.destroyed)
    let held = -justWritten
    for (const [res] of live) held += res.writableLength
    if (held <= this.maxBytes) return
    const now = Date.now()
    const pending = live.filter(([res, since]) => since !== undefined && res.writableLength > 0) as [ServerResponse, number][]
    const close = (res: ServerResponse) => {
      held -= res.writableLength
      // Its connection goes with it: what the socket held is freed, and the client sees the stream end.
      res.destroy()
    }
    for (const [res, since] of pending.sort((a, b) => a[1] - b[1])) {
      if (held <= this.maxBytes || now - since < STALL_MS) break
      close(res)
    }
    const fullestFirst = pending.filter(([res]) => !res.destroyed).sort((a, b) => b[0].writableLength - a[0].writableLength)
    for (const [res] of fullestFirst) {
      if (held <= 2 * this.maxBytes) break
      close(res)
    }
    const oldest = pending.find(([res]) => !res.destroyed)
    if (held > this.maxBytes && oldest && !responses.recheck) {
      responses.recheck = setTimeout(() => {
        responses.recheck = undefined
        this.enforce(responses, 0)
      }, oldest[1] + STALL_MS - now)
      responses.recheck.unref()
    }
  }
}
