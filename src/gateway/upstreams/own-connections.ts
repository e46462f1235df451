import { INTERNAL_ERROR } from '../../protocol/codes.js'
import { GatewayError, UpstreamTransportError } from '../errors.js'
import { type Caller, needsOwnConnection, standInSession } from '../calls/index.js'
import { passedOn } from './profiles.js'
import type { Registration } from '../types.js'
import { frontTokenOf, type Principal } from '../../http/principal.js'
import type { Upstream } from './upstream.js'
import { principalKey } from './auth/oauth-client.js'
import { consentBeforeSession } from './auth/transport.js'

export interface OwnConnectionLimits {
  /** Most own stdio children one registration has open at once (default 16). */
  maxPerRegistration: number
  /** An own upstream session with no request for this long is closed; the next request opens a new one (default 5 min). */
  idleMs: number
}

export const OWN_CONNECTION_DEFAULTS: OwnConnectionLimits = { maxPerRegistration: 16, idleMs: 5 * 60_000 }

/** Most principals whose 2026 callers' sessions are kept apart (`principalSession`); past it, the least recently used one's idle sessions close. */
const MAX_PRINCIPAL_SESSIONS = 256

interface OwnConnection {
  connection: Promise<Upstream>
  /** The same connection, read without waiting once it is up (lists, the hot path). */
  upstream: Upstream
  idle: NodeJS.Timeout
  /** Requests between choosing this connection and being sent on it (it may still be connecting). */
  choosing: number
}

/** What a client session declared at initialize (undefined when its front does not say). */
function capabilitiesOfSession(session: object): Record<string, unknown> | undefined {
  return (session as { getClientCapabilities?: () => Record<string, unknown> | undefined }).getClientCapabilities?.()
}

/** True when a 2025 client reaches `upstream` on an upstream session that can hold state about it. */
function keepsSessions(upstream: Upstream): boolean {
  return upstream.era === 'legacy' || !!upstream.sessionClient
}

/**
 * The session model (HTTP front): every 2025 client session gets its own upstream session with each
 * registration it uses, opened on its first request there (a call, read, prompt, completion or
 * subscription) and closed with the client's session or once idle for `idleMs`: an MCP session of its own
 * on an HTTP server, its own process for a stdio one. Everything that session does on that registration,
 * and everything the server says on it (logs, `resources/updated`, `list_changed`, sampling, elicitation,
 * `roots/list`, answered with that client's roots), is that client's alone.
 *
 * Shared instead: 2026-07-28 requests (they carry no session) and upstreams that keep none (a 2026 server
 * without a 2025 session), and registrations marked `sessions: 'shared'` (stateless servers). On those,
 * a client that declares sampling, elicitation or roots still gets its own connection to a stdio or SSE
 * server, so that the server's requests are never ambiguous. A 2026 client declaring roots is the
 * exception to sharing: its requests to a 2025 server run on an upstream session per set of roots
 * (Router.needsRoots), as a 2025 client's would on its own. A server that wants each caller's own token
 * (`auth.mode: 'per-user'` or `'on-behalf-of'`) binds its sessions to the user whose token opened them: a
 * 2025 client session gets its own there, opened with its caller's token once the gateway holds one. Until
 * then, a 2026 server's callers are asked to consent on the shared connection, where their calls go; a
 * 2025-only server's are asked on their client session before their upstream session opens (or told the
 * URL, where they cannot be asked so), and its 2026 callers ride a session of their principal's
 * (`principalSession`).
 *
 * At most `maxPerRegistration` stdio children are open per registration (HTTP and SSE sessions are bounded
 * by the front's `maxSessions`): a client session past it gets a clear error (or, where the registration is
 * shared, is served on the shared connection, where an upstream's request is that client's only when every
 * call in flight there is; otherwise it is refused, never guessed).
 */
export class OwnConnections {
  private readonly bySession = new Map<object, Map<string, OwnConnection>>()
  private readonly sessionOfConnection = new WeakMap<Upstream, object>()
  /** Open own connections per registration id. */
  private readonly open = new Map<string, number>()
  /** The stand-in sessions of principals (`principalSession`), least recently used first. */
  private readonly principals = new Map<string, object>()
  private readonly limits: OwnConnectionLimits

  constructor(
    private readonly create: (registration: Registration) => Upstream,
    limits: Partial<OwnConnectionLimits> = {},
  ) {
    this.limits = {
      maxPerRegistration: limits.maxPerRegistration ?? OWN_CONNECTION_DEFAULTS.maxPerRegistration,
      idleMs: limits.idleMs ?? OWN_CONNECTION_DEFAULTS.idleMs,
    }
  }

  /** True when `session`'s requests to the pool member `upstream` go over an upstream session of its own. */
  wanted(upstream: Upstream, session: object): boolean {
    if (this.isRequired(upstream)) return true
    if (upstream.sessionsPerPrincipal && upstream.registration.sessions !== 'shared') return true
    return needsOwnConnection(upstream.registration.connection.type, capabilitiesOfSession(session))
  }

  private isRequired(upstream: Upstream): boolean {
    return upstream.registration.sessions !== 'shared' && keepsSessions(upstream)
  }

  /** The member of `members` this session already has its own session with: its requests stay there. */
  stuckTo(session: object, members: Upstream[]): Upstream | undefined {
    const connections = this.bySession.get(session)
    return connections && members.find((member) => connections.has(member.id))
  }

  /**
   * The stand-in session of a 2026 caller (it has none) whose requests to `upstream`, a 2025 server binding
   * its sessions to the user whose token opened them, ride an upstream session of their principal's; undefined
   * elsewhere. Bounded: past `MAX_PRINCIPAL_SESSIONS` principals, the least recently used one's sessions close
   * once idle, and its next request opens another.
   */
  principalSession(upstream: Upstream, principal: Principal | undefined): object | undefined {
    if (!principal || upstream.era !== 'legacy' || !upstream.sessionsPerPrincipal) return undefined
    const key = principalKey(principal)
    const session = this.principals.get(key) ?? standInSession()
    this.principals.delete(key)
    this.principals.set(key, session)
    if (this.principals.size > MAX_PRINCIPAL_SESSIONS) {
      const [oldest, retired] = this.principals.entries().next().value!
      this.principals.delete(oldest)
      for (const [id, own] of this.bySession.get(retired) ?? []) this.expire(retired, id, own.upstream)
    }
    return session
  }

  /**
   * The session's own connection to `upstream` (opened on first use; it goes by the registration's id).
   * Past the cap, or when it cannot connect, a registration that keeps sessions is an error (a transport
   * one when it cannot connect: the router fails over); a shared one falls back to `upstream`.
   * `caller`: the session's, whose token opens its own session with a per-user upstream.
   */
  choose(upstream: Upstream, session: object, caller?: Caller): Upstream | Promise<Upstream> {
    const connections = this.bySession.get(session)
    const own = connections?.get(upstream.id)
    if (own?.upstream.status === 'connected' && own.upstream.client) {
      own.idle.refresh()
      return own.upstream
    }
    return this.connect(upstream, session, own, caller)
  }

  private async connect(upstream: Upstream, session: object, existing: OwnConnection | undefined, caller?: Caller): Promise<Upstream> {
    let own = existing
    const principal = caller?.principal
    if (!own && upstream.sessionsPerPrincipal) {
      // A caller whose token the gateway does not hold yet consents first; its session comes after.
      if (!caller || !principal || !(await this.authorized(upstream, caller, principal))) return upstream
      own = this.bySession.get(session)?.get(upstream.id)
    }
    if (!own) {
      // Processes are capped; an HTTP or SSE session costs the server what a direct client would (the front caps sessions).
      if (upstream.registration.connection.type === 'stdio' && this.count(upstream.id) >= this.limits.maxPerRegistration) {
        if (!this.isRequired(upstream)) return upstream
        throw new GatewayError(
          INTERNAL_ERROR,
          `Server "${upstream.pool}" (${upstream.id}) already has ${this.limits.maxPerRegistration} client sessions of its own open, ` +
            `its cap (maxOwnConnections). Try this: end idle sessions, raise maxOwnConnections, or register it with ` +
            `sessions: 'shared' if it keeps no state per client.`,
        )
      }
      const connections = this.bySession.get(session) ?? new Map<string, OwnConnection>()
      this.bySession.set(session, connections)
      own = this.openFor(session, upstream, principal)
      connections.set(upstream.id, own)
    }
    own.choosing++
    let connection: Upstream
    try {
      connection = await own.connection
      if (connection.status !== 'connected') await connection.connectOnDemand()
    } finally {
      own.choosing--
      own.idle.refresh()
    }
    if (connection.status === 'connected' && connection.client) return connection
    if (!this.isRequired(upstream)) return upstream
    throw new UpstreamTransportError(`could not open a session for this client: ${connection.lastError ?? 'not connected'}`)
  }

  /**
   * Whether the gateway holds the caller's token for a per-user upstream (or can exchange theirs, on behalf
   * of them), once a 2025-only one's caller has consented (asked on their 2025 session, or retrying a 2026
   * consent round). False: their call goes on the shared connection, where the consent is asked or its URL
   * told, nothing sent (auth/transport.ts).
   */
  private async authorized(upstream: Upstream, caller: Caller, principal: Principal): Promise<boolean> {
    // Its token is exchanged as the session opens; a caller without one is told so on the shared connection.
    if (upstream.actsOnBehalfOf) return frontTokenOf(principal) !== undefined
    const oauth = upstream.perUserAuth
    if (!oauth) return false
    if (await oauth.userToken(principal).catch(() => undefined)) return true
    return upstream.era === 'legacy' && consentBeforeSession(oauth, caller, principal)
  }

  private openFor(session: object, upstream: Upstream, principal: Principal | undefined): OwnConnection {
    const perPrincipal = upstream.sessionsPerPrincipal
    // A session kept by the upstream is a 2025 one: spoken at once, without probing again.
    const protocol = keepsSessions(upstream) || perPrincipal ? ('2025-11-25' as const) : upstream.registration.protocol
    const created = this.create({ ...upstream.registration, protocol })
    // The server decides what it offers by what its client declared: the session declares what its client did (as direct).
    created.capabilities = passedOn(capabilitiesOfSession(session))
    if (perPrincipal) created.sessionPrincipal = principal
    this.sessionOfConnection.set(created, session)
    this.open.set(upstream.id, this.count(upstream.id) + 1)
    const idle = setTimeout(() => this.expire(session, upstream.id, created), this.limits.idleMs)
    idle.unref()
    return { connection: created.connect().then(() => created), upstream: created, idle, choosing: 0 }
  }

  /**
   * Closes an own connection that had no request for `idleMs`. One still connecting or running a call waits
   * for another period, and so does one with a subscription (its client is waiting for updates).
   */
  private expire(session: object, id: string, connection: Upstream): void {
    const own = this.bySession.get(session)?.get(id)
    if (!own) return
    if (own.choosing > 0 || connection.inflight > 0 || connection.subscribed) {
      own.idle.refresh()
      return
    }
    void this.forget(session, id, own)
  }

  /** Takes a session's own connection to `id` out of the books and closes it. */
  private forget(session: object, id: string, own: OwnConnection): Promise<void> {
    const connections = this.bySession.get(session)!
    connections.delete(id)
    if (!connections.size) this.bySession.delete(session)
    return this.release(id, own)
  }

  private async release(id: string, own: OwnConnection): Promise<void> {
    clearTimeout(own.idle)
    const left = this.count(id) - 1
    if (left > 0) this.open.set(id, left)
    else this.open.delete(id)
    await (await own.connection).stop()
  }

  /** Own connections open to the registration `id`. */
  count(id: string): number {
    return this.open.get(id) ?? 0
  }

  /** The session's connected own upstreams by registration id (what its lists are read from), if any. */
  connectedOf(session: object): Map<string, Upstream> | undefined {
    const connections = this.bySession.get(session)
    if (!connections) return undefined
    const connected = new Map<string, Upstream>()
    for (const [id, own] of connections) if (own.upstream.status === 'connected') connected.set(id, own.upstream)
    return connected.size ? connected : undefined
  }

  /** True when the session has its own connection to the registration `id`. */
  has(session: object, id: string): boolean {
    return !!this.bySession.get(session)?.has(id)
  }

  /** The session a connection was opened for, when it is one of these. */
  ownerOf(connection: Upstream): object | undefined {
    return this.sessionOfConnection.get(connection)
  }

  /** The session's own connections that are up. */
  async connectionsOf(session: object): Promise<Upstream[]> {
    const opened = await Promise.all([...(this.bySession.get(session)?.values() ?? [])].map((own) => own.connection))
    return opened.filter((connection) => connection.status === 'connected')
  }

  async close(session: object): Promise<void> {
    const connections = this.bySession.get(session)
    this.bySession.delete(session)
    await Promise.allSettled([...(connections ?? [])].map(([id, own]) => this.release(id, own)))
  }

  /** Closes every session's own connection to the registration `id` (removed or replaced: the next request opens one on the new registration). */
  async closeRegistration(id: string): Promise<void> {
    const closing: Promise<void>[] = []
    for (const [session, connections] of [...this.bySession]) {
      const own = connections.get(id)
      if (own) closing.push(this.forget(session, id, own))
    }
    await Promise.allSettled(closing)
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.bySession.keys()].map((session) => this.close(session)))
  }
}
