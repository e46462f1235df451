import { needsOwnConnection, sessionOf } from './isolation.js'
import type { Registration } from './types.js'
import type { Upstream } from './upstream.js'

/**
 * Per client session, its own connections to upstreams on a shared channel (stdio, legacy SSE), opened on
 * its first call when the client declares sampling or elicitation: every request such an upstream sends
 * on that connection is then that client's. Closed with the session.
 */
export class OwnConnections {
  private readonly bySession = new Map<object, Map<string, Promise<Upstream>>>()
  private readonly sessionOfConnection = new WeakMap<Upstream, object>()

  constructor(private readonly create: (registration: Registration) => Upstream) {}

  /** True when a call of `caller` to the pool member `upstream` should go over the caller's own connection. */
  wanted(upstream: Upstream, caller: object): boolean {
    const session = sessionOf(caller) as { getClientCapabilities?: () => Record<string, unknown> | undefined } | undefined
    return !!session && needsOwnConnection(upstream.registration.connection.type, session.getClientCapabilities?.())
  }

  /** The caller's own connection to `upstream` (opened on first use), or `upstream` when it cannot connect. */
  async choose(upstream: Upstream, caller: object): Promise<Upstream> {
    const session = sessionOf(caller)!
    const connections = this.bySession.get(session) ?? new Map<string, Promise<Upstream>>()
    this.bySession.set(session, connections)
    let own = connections.get(upstream.id)
    if (!own) {
      const created = this.create({ ...upstream.registration, id: `${upstream.id}/own` })
      this.sessionOfConnection.set(created, session)
      own = created.connect().then(() => created)
      connections.set(upstream.id, own)
    }
    const connection = await own
    if (connection.status !== 'connected') await connection.connect()
    // Unreachable on its own: the shared connection, where ambiguous requests are refused, not guessed.
    return connection.status === 'connected' && connection.client ? connection : upstream
  }

  /** The session a connection was opened for, when it is one of these. */
  ownerOf(connection: Upstream): object | undefined {
    return this.sessionOfConnection.get(connection)
  }

  async close(session: object): Promise<void> {
    const connections = this.bySession.get(session)
    this.bySession.delete(session)
    await Promise.allSettled([...(connections?.values() ?? [])].map(async (own) => (await own).stop()))
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.bySession.keys()].map((session) => this.close(session)))
  }
}
