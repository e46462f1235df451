// The lists stage of the router: the merged catalog (merged-lists.ts) as each caller is offered it, less what its capability profile is not offered (upstreams/profiles.ts).
import type { Caller, ListKind } from '../calls/index.js'
import type { LockGate } from '../lock/index.js'
import type { Route } from '../names/index.js'
import {
  type CacheHint,
  consentBeforeListing,
  FULL_PROFILE,
  type OwnConnections,
  profileOf,
  ProfileViews,
  type Upstream,
} from '../upstreams/index.js'
import { MergedLists } from './merged-lists.js'

/** The merged lists every pool's members serve, and what each caller is offered of them (a base of Router, router.ts). */
export abstract class OfferedLists {
  readonly upstreams: Upstream[] = []
  /** Client sessions' own upstream sessions (set on the Router). */
  abstract own: OwnConnections | undefined
  /** Holds back tools and prompts that differ from airmcp.lock (set on the Router). */
  abstract gate: LockGate | undefined

  protected readonly lists = new MergedLists(this.upstreams, { gate: () => this.gate, own: () => this.own })
  /** What clients declaring less than the gateway does are not offered (upstreams/profiles.ts). */
  protected readonly profiles = new ProfileViews()

  /** Bumped whenever the exposed lists change (the discovery index is rebuilt on a new revision). */
  get revision(): number {
    return this.lists.revision
  }

  rebuild(kinds?: ListKind[]): ListKind[] {
    return this.lists.rebuild(kinds)
  }

  listTools() {
    return this.lists.listTools()
  }

  listPrompts() {
    return this.lists.listPrompts()
  }

  /** The tools offered to the caller: the catalog without what its capability profile is not offered (upstreams/profiles.ts). */
  toolsFor(caller: Caller) {
    return this.offeredOf(caller, 'tools', () => this.lists.listTools(), (name) => this.lists.toolRoute(name))
  }

  promptsFor(caller: Caller) {
    return this.offeredOf(caller, 'prompts', () => this.lists.listPrompts(), (name) => this.lists.promptRoute(name))
  }

  private offeredOf<T extends { name: string }>(caller: Caller, kind: 'tools' | 'prompts', list: () => T[], routeOf: (name: string) => Route | undefined): T[] | Promise<T[]> {
    const profile = profileOf(caller.clientCapabilities)
    if (profile === FULL_PROFILE) return list()
    const offered = () =>
      list().filter((item) => {
        const route = routeOf(item.name)!
        return !this.profiles.hides(kind, route.name, this.lists.members(route.pool), profile)
      })
    const learning = this.profiles.learn(this.upstreams, profile)
    return learning ? learning.then(offered) : offered()
  }

  /**
   * Whether the caller's profile is not offered `route` (a map hit), or a promise once that is being learned
   * (ask again when it settles). The full profile is offered everything and never looks.
   */
  protected withheld(caller: Caller, kind: 'tools' | 'prompts', route: Route): boolean | Promise<void> {
    const profile = profileOf(caller.clientCapabilities)
    if (profile === FULL_PROFILE) return false
    const members = this.lists.members(route.pool)
    return this.profiles.learn(members, profile) ?? this.profiles.hides(kind, route.name, members, profile)
  }

  listResources(session?: object) {
    return this.lists.listResources(session)
  }

  listResourceTemplates(session?: object) {
    return this.lists.listResourceTemplates(session)
  }

  instructions(): string | undefined {
    return this.lists.instructions()
  }

  cacheHint(kind: 'tools' | 'resources' | 'resourceTemplates' | 'prompts'): Required<CacheHint> {
    return this.lists.cacheHint(kind)
  }

  /** A per-user upstream nobody has authorized yet asks the caller who lists first (upstreams/auth/list-consent.ts). */
  consentBeforeListing(caller: Caller): Promise<void> {
    return consentBeforeListing(this.upstreams, caller)
  }
}
