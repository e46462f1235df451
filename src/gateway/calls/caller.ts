// What the router's stages share: who made a request (Caller), the client sessions and notifiers they answer to, and the capability checks.
import type { Principal } from '../../http/principal.js'
import type { TraceCarrier } from '../../telemetry/tracing.js'
import type { Cancellation } from './cancellation.js'
import type { GatewayState } from './sealed-state.js'

export type Params = Record<string, unknown>
export type Message = { method: string; params?: Params }
export type ListKind = 'tools' | 'resources' | 'prompts'

/**
 * Whoever made a request at the front, in either era: what the router needs to answer it, whatever
 * the wire underneath (a 2025 session or a self-contained 2026 request).
 */
export interface Caller {
  era: 'legacy' | 'modern'
  signal: AbortSignal
  /** A 2025 call on the direct path: its cancellation, which makes `signal` only when read (cancellation.ts). */
  cancellation?: Cancellation
  progressToken?: string | number
  /** `_meta` keys to pass on upstream (trace context and the like), without the protocol's own. */
  meta?: Params
  /** A notification about this request (progress, log). */
  notify(notification: Message): Promise<void>
  /** 2025 clients: a server-to-client request on the caller's session. */
  request?(request: Message, signal?: AbortSignal): Promise<unknown>
  /** The 2025 session's id (HTTP front): its requests share `maxConcurrentPerSession`. */
  sessionId?: string
  /** The JSON-RPC id of the client's request (telemetry). */
  requestId?: string | number
  /** HTTP headers of the request that carried it (trace context). */
  headers?: TraceCarrier
  /** 2026 clients: this round's answers, keyed as the gateway asked. */
  inputResponses?: Params
  /** 2026 clients: the gateway's verified state from the previous round. */
  state?: GatewayState
  /** The log level asked for: in a 2026 request (absent: no logs), or set by a 2025 session (absent: all). */
  logLevel?: string
  /** The client's declared capabilities: in a 2026 request's envelope, or at a 2025 session's initialize. */
  clientCapabilities?: Params
  /** Who is calling (audit, rate limits): the client's verified principal, when the front knows it. */
  principal?: Principal
  /** Set while a 2025 upstream's call is replayed for a 2026 client (see routing/era-bridge.ts `replayOnLegacy`). */
  replay?: Replay
  /** Set when the request is audited: where it went (security/request-guard.ts). */
  audit?: AuditNote
}

/** What the router learned while serving a request, for its audit line (set only when auditing). */
export interface AuditNote {
  /** The pool (the registration's `name`). */
  server?: string
  /** The member that served it (the registration's `id`). */
  upstream?: string
  /** The tool's or prompt's name on the upstream (a prefix or rename makes it differ from the exposed one). */
  upstreamName?: string
  /** The trace of the gateway's span (tracing on). */
  traceId?: string
}

/** A 2026 client's call replayed on a 2025 upstream: the answers so far, and what the upstream asks next. */
export interface Replay {
  answers: Params
  next: number
  needed?: Record<string, Message>
  /** Set when the upstream asked for something the client did not declare it can do. */
  missing?: Params
  abort: AbortController
}

/** Something that can tell 2025 sessions about changes (the front's SDK server is one). */
export interface LegacySession {
  sendToolListChanged(): unknown
  sendPromptListChanged(): unknown
  sendResourceListChanged(): unknown
  sendLoggingMessage(params: never): Promise<unknown>
  sendResourceUpdated(params: { uri: string }): Promise<unknown>
  close(): Promise<unknown>
  /** What the client declared at initialize, and its roots (asked of it with `roots/list`). */
  getClientCapabilities?(): Params | undefined
  listRoots?(params?: undefined, options?: { signal?: AbortSignal }): Promise<unknown>
}

/**
 * The session a 2026 client has not, where its requests ride an upstream 2025 session of their own (its
 * roots, its principal): what it declared, and its roots. It has nowhere to hear what that upstream session
 * says outside a call: that is dropped.
 */
export function standInSession(capabilities?: Params, roots?: Params): LegacySession {
  const unheard = async () => {}
  return {
    ...(capabilities ? { getClientCapabilities: () => capabilities } : {}),
    ...(roots ? { listRoots: async () => roots } : {}),
    sendToolListChanged: unheard,
    sendPromptListChanged: unheard,
    sendResourceListChanged: unheard,
    sendLoggingMessage: unheard,
    sendResourceUpdated: unheard,
    close: unheard,
  }
}

/** Something that tells 2026 `subscriptions/listen` streams about changes. */
export interface ModernNotifier {
  toolsChanged(): void
  promptsChanged(): void
  resourcesChanged(): void
  resourceUpdated(uri: string): void
}

/** Whether the caller cancelled, without making an AbortSignal for a direct-path call. */
export const isCancelled = (caller: Caller) => (caller.cancellation ?? caller.signal).aborted

/** Who owns a task the caller starts: its client policy's name and, with OAuth, its user (two users of one policy own theirs apart). */
export const taskOwner = (caller: Caller) => caller.principal && `${caller.principal.name}\u0000${caller.principal.sub ?? ''}`

/** The client capability a server-to-client request needs, as a capabilities object. */
export function capabilityFor(request: Message): Params | undefined {
  if (request.method === 'elicitation/create') {
    return { elicitation: (request.params?.mode === 'url' ? { url: {} } : {}) }
  }
  if (request.method === 'sampling/createMessage') return { sampling: {} }
  if (request.method === 'roots/list') return { roots: {} }
  return undefined
}

/** True when `capabilities` declare everything `needed` names (each key, and each mode under it). */
export function declares(capabilities: Params | undefined, needed: Params): boolean {
  return Object.entries(needed).every(([key, sub]) => {
    const declared = capabilities?.[key] as Params | undefined
    if (declared === undefined) return false
    return Object.keys(sub as Params).every((mode) => (declared as Params)[mode] !== undefined)
  })
}

/**
 * The params sent upstream for a caller, in the era the upstream is spoken to: the caller's own `_meta`
 * keys go along (the progress token is the transport's), and a 2026 upstream is told the log level and
 * capabilities of the client it answers for.
 */
export function upstreamParams(params: Params, caller: Caller, era: 'legacy' | 'modern' | undefined, extraMeta?: Params): Params {
  const { _meta: _ignored, inputResponses: _responses, requestState: _state, ...rest } = params
  const meta: Params = { ...caller.meta, ...extraMeta }
  if (era === 'modern' && caller.era === 'modern') {
    // The upstream answers for the client at the front: its log level and what it can do.
    if (caller.logLevel) meta['io.modelcontextprotocol/logLevel'] = caller.logLevel
    meta['io.modelcontextprotocol/clientCapabilities'] = caller.clientCapabilities ?? {}
  } else if (era === 'modern') {
    // A 2025 session hears every log until it sets a level; a 2026 upstream sends none unless asked.
    meta['io.modelcontextprotocol/logLevel'] = caller.logLevel ?? 'debug'
    // What the session declared at initialize: the upstream asks only for input it can give.
    if (caller.clientCapabilities) meta['io.modelcontextprotocol/clientCapabilities'] = caller.clientCapabilities
  }
  return Object.keys(meta).length ? { ...rest, _meta: meta } : rest
}
