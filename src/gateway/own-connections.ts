import { needsOwnConnection, sessionOf } from './isolation.js'
import type { Registration } from './types.js'
import type { Upstream } from './upstream.js'

export interface OwnConnectionLimits {
  /** Most own connections (stdio children) one registration has open at once; past it, clients share (default 16). */
  maxPerRegistration: number
  /** An own connection with no call for this long is closed; the next call opens it again (default 5 min). */
  idleMs: number
}

export const OWN_CONNECTION_DEFAULTS: OwnConnectionLimits = { maxPerRegistration: 16, idleMs: 5 * 60_000 }

interface OwnConnection {
  connection: Promise<Upstream>
  idle: NodeJS.Timeout
  /** Calls between choosing this connection and being sent on it (it may still be connecting). */
  choosing: number
}

/**
 * Per client session, its own connections to upstreams on a shared channel (stdio, legacy SSE), opened on
 * its first call when the client declares sampling or elicitation: every request such an upstream sends
 * on that connection is then that client's. Closed with the session, or once idle for `idleMs`.
 *
 * At most `maxPerRegistration` are open per registration (each may be a process): a client past the cap
 * is served on the shared connection, where the usual rule holds (an upstream's request is that client's
 * only when every call in flight there is; otherwise it is refused, never guessed).
 */
export class OwnConnections {
  private readonly bySession = new Map<object, Map<string, OwnConnection>>()
  private readonly sessionOfConnection = new WeakMap<Upstream, object>()
  /** Open own connections per registration id. */
  private readonly open = new Map<string, number>()
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

  /** True when a call of `caller` to the pool member `upstream` should go over the caller's own connection. */
  wanted(upstream: Upstream, caller: object): boolean {
    const session = sessionOf(caller) as { getClientCapabilities?: () => Record<string, unknown> | undefined } | undefined
    return !!session && needsOwnConnection(upstream.registration.connection.type, session.getClientCapabilities?.())
  }

  /** The caller's own connection to `upstream` (opened on first use), or `upstream` when it cannot connect or the cap is reached. */
  async choose(upstream: Upstream, caller: object): Promise<Upstream> {
    const session = sessionOf(caller)!
    const connections = this.bySession.get(session) ?? new Map<string, OwnConnection>()
    let own = connections.get(upstream.id)
    if (!own) {
      if (this.count(upstream.id) >= this.limits.maxPerRegistration) return upstream
      this.bySession.set(session, connections)
      own = this.openFor(session, upstream)
      connections.set(upstream.id, own)
    }
    own.choosing++
    let connection: Upstream
    try {
      connection = await own.connection
      if (connection.status !== 'connected') await connection.connect()
    } finally {
      own.choosing--
      own.idle.refresh()
    }
    // Unreachable on its own: the shared connection, where ambiguous requests are refused, not guessed.
    return connection.status === 'connected' && connection.client ? connection : upstream
  }

  private openFor(session: object, upstream: Upstream): OwnConnection {
    const created = this.create({ ...upstream.registration, id: `${upstream.id}/own` })
    this.sessionOfConnection.set(created, session)
    this.open.set(upstream.id, this.count(upstream.id) + 1)
    const idle = setTimeout(() => this.expire(session, upstream.id, created), this.limits.idleMs)
    idle.unref()
    return { connection: created.connect().then(() => created), idle, choosing: 0 }
  }

  /** Closes an own connection that had no call for `idleMs` (one still connecting or running a call waits for another period). */
  private expire(session: object, id: string, connection: Upstream): void {
    const own = this.bySession.get(session)?.get(id)
    if (!own) return
    if (own.choosing > 0 || connection.inflight > 0) {
      own.idle.refresh()
      return
    }
    const connections = this.bySession.get(session)!
    connections.delete(id)
    if (!connections.size) this.bySession.delete(session)
    void this.release(id, own)
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

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.bySession.keys()].map((session) => this.close(session)))
  }
}
