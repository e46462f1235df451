// The catalog stage: every pool's tools, prompts and resources merged into the lists clients see, the names that route to each pool, and the merged instructions.
import { matchTemplate } from '../../runtime/resource.js'
import { AppUris, buildRoutes, offeredTools, parsePoolUiUri, type Route } from '../names/index.js'
import type { ListKind } from '../calls/index.js'
import type { LockGate } from '../lock/index.js'
import { type CacheHint, mergeCacheHints, type OwnConnections, type Upstream } from '../upstreams/index.js'

/** Longest part of the gateway's instructions one server's take (characters). */
export const MAX_INSTRUCTIONS_CHARS = 8192

function cutInstructions(text: string): string {
  if (text.length <= MAX_INSTRUCTIONS_CHARS) return text
  return `${text.slice(0, MAX_INSTRUCTIONS_CHARS)}\n[… cut by the gateway: ${text.length - MAX_INSTRUCTIONS_CHARS} more characters]`
}

/** What the lists depend on that the gateway sets up after the router: the lock, and client sessions' own connections. */
export interface ListSources {
  gate(): LockGate | undefined
  own(): OwnConnections | undefined
}

/** The merged lists of every registered upstream, and where each exposed name is served. */
export class MergedLists {
  /** Bumped whenever the exposed lists change (the discovery index is rebuilt on a new revision). */
  revision = 0
  private toolRoutes = new Map<string, Route>()
  private promptRoutes = new Map<string, Route>()
  /** Where each pool's `ui://` apps are exposed and read (names/apps.ts). */
  private apps = new AppUris()
  private readonly published = new Map<ListKind, string>()
  /** The merged instructions; null when an upstream's status changed since they were built. */
  private mergedInstructions: string | undefined | null = null

  constructor(
    readonly upstreams: Upstream[],
    private readonly sources: ListSources,
  ) {}

  members(pool: string): Upstream[] {
    return this.upstreams.filter((u) => u.pool === pool)
  }

  toolRoute(name: string): Route | undefined {
    return this.toolRoutes.get(name)
  }

  promptRoute(name: string): Route | undefined {
    return this.promptRoutes.get(name)
  }

  /** The URI clients know a pool's resource by (an app URI the gateway renamed, else the server's own). */
  exposedUri(pool: string, serverUri: string): string {
    return this.apps.exposed(pool, serverUri)
  }

  /** Per pool, what its members offer (replicas should agree; the union covers a rolling upgrade). */
  private offered<T>(items: (u: Upstream) => T[], key: (item: T) => string, upstreams = this.upstreams): Map<string, Map<string, T>> {
    const byPool = new Map<string, Map<string, T>>()
    for (const upstream of upstreams) {
      const pool = byPool.get(upstream.pool) ?? new Map<string, T>()
      for (const item of items(upstream)) if (!pool.has(key(item))) pool.set(key(item), item)
      byPool.set(upstream.pool, pool)
    }
    return byPool
  }

  /**
   * Recomputes the exposed names and lists of `kinds` (all by default); returns the kinds whose visible
   * list changed since the last rebuild. Linear in the items: names by buildRoutes, each list serialized
   * once (every item was bounded in depth and size when it was read, list-intake.ts).
   */
  rebuild(kinds: ListKind[] = ['tools', 'prompts', 'resources']): ListKind[] {
    // Tools and resources together decide how app URIs are exposed: when that changes, both lists do.
    if (kinds.includes('tools') || kinds.includes('resources')) {
      const apps = this.appUris()
      if (apps.key !== this.apps.key) kinds = [...new Set<ListKind>([...kinds, 'tools', 'resources'])]
      this.apps = apps
    }
    const names = (m: Map<string, Map<string, unknown>>) => new Map([...m].map(([pool, items]) => [pool, [...items.keys()]]))
    if (kinds.includes('tools')) this.toolRoutes = buildRoutes(names(this.offered((u) => this.exposedTools(u), (t) => t.name)))
    if (kinds.includes('prompts')) this.promptRoutes = buildRoutes(names(this.offered((u) => this.admitted(u, 'prompts'), (p) => p.name)))
    // Compared with what clients last saw: upstreams update their lists before calling here, so a
    // before/after comparison inside this call would miss a changed description.
    const changed = kinds.filter((kind) => {
      const now = JSON.stringify(kind === 'tools' ? this.listTools() : kind === 'prompts' ? this.listPrompts() : [this.listResources(), this.listResourceTemplates()])
      if (now === this.published.get(kind)) return false
      this.published.set(kind, now)
      return true
    })
    if (changed.length) this.revision++
    return changed
  }

  /** An upstream's tools as exposed: what the lock admits, under the registration's renames and prefix. */
  private exposedTools(upstream: Upstream) {
    const tools = offeredTools(upstream.registration.tools, this.admitted(upstream, 'tools'))
    return tools.map((tool) => this.apps.tool(upstream.pool, tool))
  }

  /** What every pool's members offer that bears on app URIs. */
  private appUris(): AppUris {
    const tools = this.offered((u) => u.tools, (t) => t.name)
    const resources = this.offered((u) => u.resources, (r) => r.uri)
    return new AppUris(
      [...tools.keys()].map((pool) => ({
        pool,
        tools: [...tools.get(pool)!.values()],
        resources: [...(resources.get(pool)?.values() ?? [])],
        renamed: this.members(pool).some((u) => Boolean(u.registration.tools?.prefix || Object.keys(u.registration.tools?.rename ?? {}).length)),
      })),
    )
  }

  /** What an upstream offers that the lock lets through (all of it without a lock). */
  private admitted<K extends 'tools' | 'prompts'>(upstream: Upstream, kind: K): Upstream[K] {
    const gate = this.sources.gate()
    return gate ? gate.admit(upstream, kind) : upstream[kind]
  }

  listTools() {
    const tools = this.offered((u) => this.exposedTools(u), (t) => t.name)
    return [...this.toolRoutes].map(([exposed, route]) => ({ ...tools.get(route.pool)!.get(route.name)!, name: exposed }))
  }

  listPrompts() {
    const prompts = this.offered((u) => this.admitted(u, 'prompts'), (p) => p.name)
    return [...this.promptRoutes].map(([exposed, route]) => ({
      ...prompts.get(route.pool)!.get(route.name)!,
      name: exposed,
    }))
  }

  /** Resources as `session` sees them: from its own upstream sessions where it has them (what its calls created there). */
  listResources(session?: object) {
    return [...this.offered((u) => u.resources, (r) => r.uri, this.seenBy(session))].flatMap(([pool, m]) => [...m.values()].map((r) => this.apps.resource(pool, r)))
  }

  listResourceTemplates(session?: object) {
    return [...this.offered((u) => u.resourceTemplates, (r) => r.uriTemplate, this.seenBy(session)).values()].flatMap((m) => [
      ...m.values(),
    ])
  }

  /** The upstreams whose lists a client session sees: its own session with a registration in place of the shared one. */
  private seenBy(session: object | undefined): Upstream[] {
    const own = session && this.sources.own()?.connectedOf(session)
    return own ? this.upstreams.map((u) => own.get(u.id) ?? u) : this.upstreams
  }

  /** An upstream's status changed: the instructions are merged again when next asked for. */
  forgetInstructions(): void {
    this.mergedInstructions = null
  }

  /**
   * The gateway's instructions: each server's own (from its last connection, one member per pool) under
   * its name, each cut at MAX_INSTRUCTIONS_CHARS so one server cannot crowd out the rest.
   */
  instructions(): string | undefined {
    // Built once per change of an upstream's status (a connect reads them anew), not per 2026 request.
    if (this.mergedInstructions === null) {
      const byPool = new Map<string, string>()
      for (const upstream of this.upstreams) {
        if (upstream.instructions && !byPool.has(upstream.pool)) byPool.set(upstream.pool, upstream.instructions)
      }
      const sections = [...byPool].map(([pool, text]) => `## ${pool}\n${cutInstructions(text)}`)
      this.mergedInstructions = sections.length ? sections.join('\n\n') : undefined
    }
    return this.mergedInstructions
  }

  /** The merged cache hint of one list: the most conservative of the connected upstreams' hints. */
  cacheHint(kind: 'tools' | 'resources' | 'resourceTemplates' | 'prompts'): Required<CacheHint> {
    const hints = this.upstreams.filter((u) => u.status === 'connected').map((u) => u.cacheHints.get(kind) ?? {})
    return mergeCacheHints(hints.length ? hints : [{ ttlMs: 0, cacheScope: 'public' }])
  }

  /** The pool that serves a resource URI: an exact resource first, then an app a tool names, then a matching template. */
  resourcePool(uri: string, session?: object): string | undefined {
    const upstreams = this.seenBy(session)
    return (
      upstreams.find((u) => u.resources.some((r) => r.uri === uri))?.pool ??
      this.apps.namer(uri) ??
      upstreams.find((u) => u.resourceTemplates.some((t) => t.uriTemplate === uri || matchTemplate(t.uriTemplate, uri)))?.pool
    )
  }

  /** The pool and the server's URI behind a resource URI a client uses (an app URI the gateway exposed under its pool's name included). */
  resourceTarget(uri: string, session?: object): { pool: string; uri: string } | undefined {
    const app = parsePoolUiUri(uri)
    if (app && this.members(app.pool).length) return app
    const pool = this.resourcePool(uri, session)
    return pool ? { pool, uri } : undefined
  }
}
