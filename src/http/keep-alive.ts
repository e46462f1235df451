// Comments on quiet SSE streams, so a proxy or load balancer whose idle timeout (often 60 s) is shorter than a
// tool call or a held-open stream does not cut it.

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
