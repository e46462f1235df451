import { DEFAULT_MAX_BUFFERED_BYTES } from '../../http/send-budget.js'
import { INVALID_PARAMS } from '../../protocol/codes.js'
import { GatewayError } from '../errors.js'

/** The gateway's defaults for what one client or one upstream may take; every one is a GatewayOptions field. */
export const LIMIT_DEFAULTS = {
  /** Requests one client session may have forwarded at once; the rest wait their turn. */
  maxConcurrentPerSession: 32,
  /** Requests one upstream member is sent at once; the rest wait their turn. */
  maxConcurrentPerUpstream: 64,
  /** Deepest nesting of a request's params (objects and arrays) that is forwarded. */
  maxArgumentDepth: 64,
  /** Largest upstream result (and stdio line) in bytes; a larger one becomes a clear error for its caller. */
  maxResultBytes: 8 * 1024 * 1024,
  /** Longest a forwarded request may run in all, however much progress it reports (ms). */
  maxRequestTotalMs: 10 * 60_000,
  /** Deepest nesting (objects and arrays) of one item taken from an upstream's list; a deeper item is dropped. */
  maxListItemDepth: 128,
  /** Largest item (a tool with its schemas, a prompt, a resource) taken from an upstream's list, as JSON bytes. */
  maxListItemBytes: 1024 * 1024,
  /** Most pages read of one upstream list; past it the items read so far are kept. */
  maxListPages: 100,
  /** Most items kept of one upstream list; past it the rest are not read. */
  maxListItems: 20_000,
  /** Most bytes (as JSON) kept of one upstream list; past it the rest are not read. */
  maxListBytes: 16 * 1024 * 1024,
  /** HTTP front: bytes one client may leave unread besides the message being written; past it, its stalled responses are closed. */
  maxBufferedBytesPerClient: DEFAULT_MAX_BUFFERED_BYTES,
  /** HTTP front: 2026 `subscriptions/listen` streams open at once (per named client; one count for all others). */
  maxListenStreams: 1024,
  /** HTTP front: listen streams one client (remote address, and named client) may hold open; past it, an error answer. */
  maxListenStreamsPerClient: 32,
  /** Resource URIs one 2025 session may subscribe to (or one listen stream follow); past it, an error answer. */
  maxSubscriptionsPerSession: 256,
}

export type GatewayLimits = typeof LIMIT_DEFAULTS

/**
 * A counting semaphore with a FIFO queue: `acquire` resolves with a release function once a slot is free,
 * or rejects when the signal aborts while waiting (the queued entry is dropped, nothing leaks).
 */
export class Semaphore {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(readonly limit: number) {}

  get busy(): number {
    return this.active
  }

  get idle(): boolean {
    return this.active === 0 && this.waiting.length === 0
  }

  /** A slot now, or undefined when all are taken (the common, uncontended path costs no promise). */
  tryAcquire(): (() => void) | undefined {
    if (this.active >= this.limit) return undefined
    this.active++
    return this.releaser()
  }

  private releaser(): () => void {
    return once(() => {
      this.active--
      this.waiting.shift()?.()
    })
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    const now = this.tryAcquire()
    if (now) return Promise.resolve(now)
    const release = this.releaser()
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        this.active++
        resolve(release)
      }
      const onAbort = () => {
        const index = this.waiting.indexOf(grant)
        if (index >= 0) this.waiting.splice(index, 1)
        reject(signal!.reason ?? new Error('aborted'))
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(grant)
    })
  }
}

function once(fn: () => void): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    fn()
  }
}

/** Semaphores by key (one per client session), dropped again when idle so abandoned keys cost nothing. */
export class KeyedSemaphores {
  private readonly byKey = new Map<string, Semaphore>()

  constructor(private readonly limit: number) {}

  private semaphoreOf(key: string): Semaphore {
    let semaphore = this.byKey.get(key)
    if (!semaphore) this.byKey.set(key, (semaphore = new Semaphore(this.limit)))
    return semaphore
  }

  private forget(key: string, semaphore: Semaphore): void {
    if (semaphore.idle && this.byKey.get(key) === semaphore) this.byKey.delete(key)
  }

  /** A slot of this key now, or undefined when all are taken. */
  tryAcquire(key: string): (() => void) | undefined {
    const semaphore = this.semaphoreOf(key)
    const release = semaphore.tryAcquire()
    if (!release) return undefined
    return () => {
      release()
      this.forget(key, semaphore)
    }
  }

  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    const semaphore = this.semaphoreOf(key)
    try {
      const release = await semaphore.acquire(signal)
      return () => {
        release()
        this.forget(key, semaphore)
      }
    } catch (error) {
      this.forget(key, semaphore)
      throw error
    }
  }
}

/**
 * Refuses params nested deeper than `maxDepth` before they are forwarded (serializing 100k levels would
 * overflow the stack). Iterative, so the check itself cannot overflow.
 */
export function assertDepth(value: unknown, maxDepth: number, what: string): void {
  if (jsonSize(value, maxDepth, Infinity) === TOO_DEEP) {
    throw new GatewayError(
      INVALID_PARAMS,
      `The arguments of ${what} nest deeper than ${maxDepth} levels. Try this: send flatter arguments ` +
        '(the gateway limit is maxArgumentDepth).',
    )
  }
}

export const TOO_DEEP = 'too deep'
export const TOO_LARGE = 'too large'

/**
 * About how many bytes `value` takes as JSON (strings and keys by length, a number as 8), or TOO_DEEP when
 * objects and arrays nest deeper than `maxDepth`, or TOO_LARGE past `maxBytes`. Iterative, and it stops at
 * the first limit it meets, so the check itself can neither overflow the stack nor run long.
 */
export function jsonSize(value: unknown, maxDepth: number, maxBytes: number): number | typeof TOO_DEEP | typeof TOO_LARGE {
  let bytes = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [node, depth] = stack.pop()!
    if (typeof node === 'string') bytes += node.length + 2
    else if (node === null || typeof node !== 'object') bytes += 8
    else if (depth >= maxDepth) return TOO_DEEP
    else if (Array.isArray(node)) {
      bytes += 2 + node.length
      if (bytes > maxBytes) return TOO_LARGE
      for (const child of node) stack.push([child, depth + 1])
    } else {
      bytes += 2
      for (const key in node) {
        bytes += key.length + 4
        if (bytes > maxBytes) return TOO_LARGE
        stack.push([(node as Record<string, unknown>)[key], depth + 1])
      }
    }
    if (bytes > maxBytes) return TOO_LARGE
  }
  return bytes
}
