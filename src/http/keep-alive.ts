// Comments on quiet SSE streams, so a proxy or load balancer whose idle timeout (often 60 s) is shorter than a
// tool call or a held-open stream does not cut it.
import type { ServerResponse } from 'node:http'

/** An SSE comment: every client ignores it, every proxy sees bytes. */
export const KEEP_ALIVE_COMMENT = ': keepalive\n\n'

/** How often quiet streams get a comment, in ms (`keepAliveMs`; 0 turns it off). */
export const DEFAULT_KEEP_ALIVE_MS = 15_000

/** Something holding responses open that can be told a keep-alive interval has passed. */
export interface KeepsAlive {
  keepAlive(): void
}

/**
 * One timer for every stream of a front: each tick tells every holder. Nothing is done per message: a
 * holder decides which of its responses have been quiet for a whole interval.
 */
export function startKeepAlive(intervalMs: number, holders: () => Iterable<KeepsAlive>): { stop(): void } {
  if (!(intervalMs > 0)) return { stop() {} }
  const timer = setInterval(() => {
    for (const holder of holders()) holder.keepAlive()
  }, intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

/**
 * Long-lived streams, quiet most of their life (listen streams): each gets a comment at every tick once its
 * head is out. A refusal (JSON) is written and ended within one turn, so what a tick finds begun and not
 * ended is a stream.
 */
export class QuietStreams implements KeepsAlive {
  private readonly streams = new Set<ServerResponse>()

  /** Follows `res` until it closes. */
  add(res: ServerResponse): void {
    this.streams.add(res)
    res.once('close', () => this.streams.delete(res))
  }

  keepAlive(): void {
    for (const res of this.streams) if (res.headersSent && !res.writableEnded) res.write(KEEP_ALIVE_COMMENT)
  }
}
