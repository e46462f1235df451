import { randomUUID } from 'node:crypto'

/**
 * Whose call an upstream's message belongs to: what the gateway knows and where it refuses to guess.
 *
 * - Streamable HTTP upstreams answer a request on that request's own response stream, and a server sends
 *   the logs, progress and sampling/elicitation requests of a call on it too. The gateway's HTTP client
 *   knows which request a stream answers, and marks every message read from it with its owner (the
 *   client's request that caused the upstream one). A marked message goes to that client only.
 * - stdio upstreams of the airmcp runtime name the request a log or a server-to-client request belongs to
 *   (`dev.airmcp/related-request`, runtime/stdio-wire.ts); the gateway's direct transport marks such a
 *   message with its owner as the HTTP client does (upstreams/direct-requests.ts).
 * - Other stdio and legacy SSE upstreams share one channel: a 2025 server says nothing about which call a log,
 *   an elicitation or a roots request belongs to. When every call in flight on that connection is one
 *   client's, it is that client's. When several clients have calls in flight there, such a request is
 *   refused (an error to the upstream) and a log is dropped, rather than guessed. On the HTTP front each
 *   2025 client session has its own upstream session with servers that keep sessions (upstreams/own-connections.ts),
 *   and a client that declares sampling, elicitation or roots gets its own connection to such upstreams
 *   even where they are shared (see `needsOwnConnection`), so its requests are never ambiguous.
 * - A log that belongs to no call (none in flight) goes only to the clients that asked for that level
 *   with `logging/setLevel`.
 */

/** The `_meta` key under which the gateway's own HTTP client marks a message's owner; never sent on. */
export const OWNER_MARK = 'dev.airmcp/owner'

const markOfOwner = new WeakMap<object, string>()
const ownerOfMark = new Map<string, object>()

/**
 * An unguessable mark per owner (the client request an upstream request is made for), so a server cannot
 * forge another client's. The router hands it to the transport as the upstream request's
 * `relatedRequestId`; the gateway's HTTP client puts it on every message of that request's stream. The
 * router releases it when the request is over (releaseOwner).
 */
export function ownerMark(owner: object): string {
  let mark = markOfOwner.get(owner)
  if (!mark) {
    mark = randomUUID()
    markOfOwner.set(owner, mark)
    ownerOfMark.set(mark, owner)
  }
  return mark
}

/** The owner of a live mark (the transport's view of whose request it sends); undefined for anything else. */
export function ownerOf(mark: unknown): object | undefined {
  return typeof mark === 'string' ? ownerOfMark.get(mark) : undefined
}

/** Forgets an owner's mark once its request is over: what arrives marked with it later belongs to nobody now. */
export function releaseOwner(owner: object): void {
  const mark = markOfOwner.get(owner)
  if (mark === undefined) return
  markOfOwner.delete(owner)
  ownerOfMark.delete(mark)
}

type Message = { method?: string; params?: Record<string, unknown> }

/** The messages the router routes by owner (progress goes by its token; the rest is not about a call). */
const ROUTED_BY_OWNER = new Set(['notifications/message', 'sampling/createMessage', 'elicitation/create', 'roots/list'])

/** Marks a message read from the response stream of a request sent with `mark` (a transport calls this). */
export function markOwner(message: Message, mark: unknown): void {
  if (typeof mark !== 'string' || !ROUTED_BY_OWNER.has(message.method as string)) return
  const params = message.params ?? {}
  const meta = (params._meta as Record<string, unknown> | undefined) ?? {}
  message.params = { ...params, _meta: { ...meta, [OWNER_MARK]: mark } }
}

/**
 * The owner a message was marked with, if any, and its params without the mark (to send on). `marked`
 * with no owner: the message belongs to a request that is over, and must reach no other client.
 */
export function takeOwner<P extends Record<string, unknown> | undefined>(params: P): { owner: object | undefined; marked: boolean; params: P } {
  const meta = params?._meta as Record<string, unknown> | undefined
  if (!meta || !(OWNER_MARK in meta)) return { owner: undefined, marked: false, params }
  const { [OWNER_MARK]: mark, ...rest } = meta
  const owner = typeof mark === 'string' ? ownerOfMark.get(mark) : undefined
  const { _meta: _dropped, ...others } = params as Record<string, unknown>
  return { owner, marked: true, params: (Object.keys(rest).length ? { ...others, _meta: rest } : others) as P }
}

// ---- client sessions: which session a request came from, and the log level it asked for ----

const sessionOfCaller = new WeakMap<object, object>()
const levelOfSession = new WeakMap<object, string>()
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

/** Records which client session a request (its handler's `extra`) came from. */
export function bindCaller(caller: object, session: object): void {
  sessionOfCaller.set(caller, session)
}

export function sessionOf(caller: object): object | undefined {
  return sessionOfCaller.get(caller)
}

/** A session's `logging/setLevel`. */
export function setSessionLevel(session: object, level: string): void {
  levelOfSession.set(session, level)
}

/** True when the session asked for logs at `level` or above; `fallback` when it never asked. */
export function wantsLog(session: object | undefined, level: unknown, fallback: boolean): boolean {
  const threshold = session && levelOfSession.get(session)
  if (!threshold) return fallback
  return LEVELS.indexOf(String(level)) >= LEVELS.indexOf(threshold)
}

/**
 * The one client session that can own a message with no mark on a connection: the session of every
 * call in flight there, or undefined when there are none or they belong to several sessions.
 */
export function soleCaller<C extends object>(inflight: readonly C[]): C | undefined {
  const first = inflight[0]
  if (!first) return undefined
  const session = sessionOf(first) ?? first
  return inflight.every((c) => (sessionOf(c) ?? c) === session) ? first : undefined
}

/** Transports on which a 2025 server cannot say which call a message belongs to. */
export function isSharedChannel(connectionType: string): boolean {
  return connectionType === 'stdio' || connectionType === 'sse'
}

/**
 * A client that may be asked for sampling, elicitation or its roots gets its own connection to an upstream
 * on a shared channel, when other clients could be calling it at the same time (an HTTP front). A server
 * may ask for roots outside any call (the filesystem server does right after initialize): on the client's
 * own connection that request is the client's.
 */
export function needsOwnConnection(
  connectionType: string,
  capabilities: { sampling?: unknown; elicitation?: unknown; roots?: unknown } | undefined,
): boolean {
  return isSharedChannel(connectionType) && !!(capabilities?.sampling || capabilities?.elicitation || capabilities?.roots)
}
