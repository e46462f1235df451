// The server-to-client stage: an upstream's logs and its sampling, elicitation and roots requests, each to the client whose call it belongs to (calls/isolation.ts), and clients' roots.
import { INVALID_REQUEST, METHOD_NOT_FOUND } from '../../protocol/codes.js'
import { ProtocolError } from '@modelcontextprotocol/client'
import {
  type Caller,
  capabilityFor,
  declares,
  type LegacySession,
  type Message,
  type Params,
  type Replay,
  sessionOf,
  soleCaller,
  takeOwner,
  wantsLog,
} from '../calls/index.js'
import type { Forwarding } from './forwarding.js'
import type { OwnConnections, Upstream } from '../upstreams/index.js'

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

/** True when a log at `level` passes a client's threshold (`undefined` threshold: nothing passes). */
function atLeast(level: string | undefined, threshold: string | undefined): boolean {
  if (!threshold) return false
  return LOG_LEVELS.indexOf(level ?? 'info') >= LOG_LEVELS.indexOf(threshold)
}

/** What a client SDK answers a request it has no handler for (a capability it did not declare). */
function methodNotFound(): ProtocolError {
  return new ProtocolError(METHOD_NOT_FOUND, 'Method not found')
}

export class ServerMessages {
  /** Each client session's roots, once asked (see `rootsOf`). */
  private readonly sessionRoots = new WeakMap<LegacySession, Promise<unknown>>()

  constructor(
    private readonly forwarding: Forwarding,
    private readonly sessions: ReadonlySet<LegacySession>,
    private readonly own: () => OwnConnections | undefined,
  ) {}

  /** Whose message this is: its mark's owner, or the one client with calls in flight on the upstream. */
  private ownerOf(upstream: Upstream, params: Params | undefined) {
    const { owner, marked, params: clean } = takeOwner(params)
    const callers = this.forwarding.callersOn(upstream)
    return { caller: (owner as Caller | undefined) ?? soleCaller(callers), marked: marked && !owner, callers, params: clean }
  }

  /**
   * A log goes to the client whose call it belongs to (its mark, or the only client with calls in flight
   * there); one of no call, to the 2025 sessions that asked for its level. Otherwise several clients have
   * calls in flight on a channel that cannot say whose it is: dropped rather than guessed.
   */
  log(upstream: Upstream, params: Params): void {
    const { caller, marked: ended, callers, params: clean = {} } = this.ownerOf(upstream, params)
    // A log of a call that is over: its client is done with it, and nobody else may read it.
    if (ended) return
    const message = { ...clean, logger: (clean.logger as string | undefined) ?? upstream.pool }
    if (caller) {
      const wanted =
        caller.era === 'modern'
          ? atLeast(clean.level as string, caller.logLevel)
          : wantsLog(sessionOf(caller), clean.level, atLeast(clean.level as string, caller.logLevel ?? 'debug'))
      if (wanted) this.forwarding.tell(caller, { method: 'notifications/message', params: message })
    } else if (!callers.length) {
      // A session's own connection speaks for that session only, which hears it as it would direct.
      const own = this.own()?.ownerOf(upstream) as LegacySession | undefined
      for (const session of own ? [own] : this.sessions) {
        if (wantsLog(session, clean.level, !!own)) void session.sendLoggingMessage(message as never).catch(() => {})
      }
    }
  }

  /**
   * Sampling, elicitation or roots goes to the client whose call caused it, or whose own connection asks
   * outside a call; it is refused when that is unknown. A client that did not declare the capability is
   * not asked: the upstream gets the client SDK's own answer, Method not found.
   */
  async clientRequest(upstream: Upstream, marked: Message, signal?: AbortSignal) {
    const { caller, marked: ended, callers, params } = this.ownerOf(upstream, marked.params)
    const request = { method: marked.method, ...(params ? { params } : {}) }
    if (ended) throw new ProtocolError(INVALID_REQUEST, `${request.method} refused: the call it belongs to is over.`)
    const needed = capabilityFor(request)
    // A session's own upstream session speaks for that session only, in a call or not: its roots are its owner's.
    const session = this.own()?.ownerOf(upstream) as LegacySession | undefined
    if (session && request.method === 'roots/list') return this.rootsOf(session)
    if (!caller) {
      throw new ProtocolError(
        INVALID_REQUEST,
        callers.length
          ? `${request.method} refused: several clients have calls in flight on "${upstream.id}" and its transport does not say whose call this belongs to.`
          : `${request.method} needs a client call in progress to answer it.`,
      )
    }
    if (caller.replay) return answerReplay(caller.replay, request, caller.clientCapabilities, needed)
    // What the client declared is known for a 2025 session on the HTTP front (its initialize).
    if (needed && caller.clientCapabilities && !declares(caller.clientCapabilities, needed)) throw methodNotFound()
    if (!caller.request) throw new ProtocolError(INVALID_REQUEST, `${request.method} cannot reach this client.`)
    // The upstream cancelling its request cancels it at that client too.
    return caller.request(request, signal)
  }

  /**
   * A client session's roots (asked of it once, until it says they changed), or Method not found, as its
   * SDK answers, when it declared none.
   */
  rootsOf(session: LegacySession): Promise<unknown> {
    if (!session.listRoots || !declares(session.getClientCapabilities?.(), { roots: {} })) return Promise.reject(methodNotFound())
    let roots = this.sessionRoots.get(session)
    if (!roots) {
      roots = session.listRoots()
      this.sessionRoots.set(session, roots)
      roots.catch(() => this.sessionRoots.get(session) === roots && this.sessionRoots.delete(session))
    }
    return roots
  }

  /** A 2025 session's roots changed: the upstream sessions that are its own are told (they ask it again). */
  async rootsChanged(session: LegacySession): Promise<void> {
    this.sessionRoots.delete(session)
    const connections = (await this.own()?.connectionsOf(session)) ?? []
    await Promise.allSettled(connections.map((connection) => connection.rootsChanged()))
  }
}

/**
 * A 2025 upstream's request in a call replayed for a 2026 client (era-bridge.ts): answered from the answers
 * collected so far; the first unanswered one ends this round and becomes the client's input request.
 */
function answerReplay(replay: Replay, request: Message, capabilities: Params | undefined, needed: Params | undefined): unknown {
  const key = `r${replay.next++}`
  if (key in replay.answers) return replay.answers[key]
  if (needed && !declares(capabilities, needed)) {
    replay.missing = needed
    replay.abort.abort()
    throw new ProtocolError(INVALID_REQUEST, `The client did not declare the capability ${request.method} needs.`)
  }
  replay.needed = { [key]: { method: request.method, params: request.params ?? {} } }
  replay.abort.abort()
  throw new ProtocolError(INVALID_REQUEST, `${request.method} is asked of the client; the call resumes on its retry.`)
}
