// The subscriptions stage: 2025 sessions' resource subscriptions (bounded per session), asked of the owning pool on the session's own upstream session where it has one, and each update to its subscribers.
import { ProtocolError } from '@modelcontextprotocol/client'
import type { LegacySession, ModernNotifier } from '../calls/index.js'
import type { Forwarding } from './forwarding.js'
import { LIMIT_DEFAULTS } from '../security/index.js'
import type { MergedLists } from './merged-lists.js'
import type { OwnConnections, Upstream } from '../upstreams/index.js'
import { INVALID_PARAMS, RESOURCE_NOT_FOUND } from '../../protocol/codes.js'

export class Subscriptions {
  private readonly subscriptions = new Map<LegacySession, Set<string>>()

  constructor(
    private readonly lists: MergedLists,
    private readonly forwarding: Forwarding,
    private readonly notifiers: ReadonlySet<ModernNotifier>,
    private readonly own: () => OwnConnections | undefined,
    private readonly maxPerSession = LIMIT_DEFAULTS.maxSubscriptionsPerSession,
  ) {}

  /** Asks every member of the owning pool for updates about `uri` (whichever replica notices a change). */
  async subscribeUpstream(uri: string): Promise<boolean> {
    const target = this.lists.resourceTarget(uri)
    if (!target) return false
    await Promise.allSettled(this.lists.members(target.pool).map((u) => u.subscribeResource(target.uri)))
    return true
  }

  async subscribe(session: LegacySession, uri: string) {
    const uris = this.subscriptions.get(session) ?? new Set<string>()
    const max = this.maxPerSession
    if (!uris.has(uri) && uris.size >= max) {
      throw new ProtocolError(
        INVALID_PARAMS,
        `Too many resource subscriptions in this session (limit ${max}). Try this: unsubscribe from resources you no longer follow, or raise maxSubscriptionsPerSession.`,
      )
    }
    // An app URI the gateway exposed under its pool's name is subscribed to upstream under the server's own.
    const target = this.lists.resourceTarget(uri, session)
    if (!target) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri })
    // Counted before the upstream is asked, so that concurrent subscribes cannot all pass the check.
    const added = !uris.has(uri)
    uris.add(uri)
    this.subscriptions.set(session, uris)
    try {
      // On the session's own upstream session, where its calls run: the server's updates come to it alone.
      const own = await this.ownSession(session, target.pool)
      if (own) await own.subscribeResource(target.uri)
      else await this.subscribeUpstream(uri)
    } catch (error) {
      if (added) uris.delete(uri)
      throw error
    }
    return {}
  }

  /** The session's own upstream session with a pool, opened now when its requests there need one. */
  private async ownSession(session: object, pool: string): Promise<Upstream | undefined> {
    const own = this.own()
    const healthy = this.lists.members(pool).filter((u) => u.status === 'connected' && u.client)
    const picked = own && (own.stuckTo(session, healthy) ?? this.forwarding.pick(pool, healthy))
    if (!picked || !own.wanted(picked, session)) return undefined
    const chosen = await own.choose(picked, session)
    return chosen === picked ? undefined : chosen
  }

  unsubscribe(session: LegacySession, uri: string) {
    this.subscriptions.get(session)?.delete(uri)
    return {}
  }

  removeSession(session: LegacySession): void {
    this.subscriptions.delete(session)
  }

  /** An update from a server: to the sessions subscribed to it (and 2026 listen streams), under the URI they know it by. */
  resourceUpdated(upstream: Upstream, serverUri: string): void {
    const uri = this.lists.exposedUri(upstream.pool, serverUri)
    // An own session's update is its client's; the shared session's go to the subscribers without their own there.
    const own = this.own()
    const owner = own?.ownerOf(upstream)
    for (const [session, uris] of this.subscriptions) {
      if (!uris.has(uri) || (owner ? session !== owner : own?.has(session, upstream.id))) continue
      void session.sendResourceUpdated({ uri }).catch(() => {})
    }
    if (!owner) for (const notifier of this.notifiers) notifier.resourceUpdated(uri)
  }
}
