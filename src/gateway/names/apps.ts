import { EXTENSION_ID, RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server'
import { shallowCopy } from '../../http/long-strings.js'

/**
 * MCP Apps (`io.modelcontextprotocol/ui`) through the gateway. A tool names its app by a `ui://` URI in
 * `_meta.ui.resourceUri` (and the older `_meta["ui/resourceUri"]`), and nothing makes such URIs unique
 * across servers. Where a URI could reach the wrong server, the gateway exposes it under one that names
 * its pool, `ui://airmcp~<pool>/<the rest of the server's URI>`, and a read of that URI goes to that pool
 * with the server's own URI. It is rewritten when
 * - more than one pool lists the URI or names it in a tool's `_meta`,
 * - the pool's tools are renamed or prefixed (the registration's `tools` naming), or
 * - the server's URI already has the gateway's form (so no server can pose as another pool).
 * The result depends only on what the pools offer, so every replica exposes the same URIs. Everything
 * else in `_meta` is passed on as the server sent it.
 */

/** What the gateway declares for the extension, to clients and to upstream servers. */
export const APPS_EXTENSION = { [EXTENSION_ID]: { mimeTypes: [RESOURCE_MIME_TYPE] } }

const UI = 'ui://'
const POOL_MARK = `${UI}airmcp~`

type Meta = Record<string, unknown>
interface WithMeta {
  _meta?: Meta
}

/** The URI of a pool's app as the gateway exposes it. */
export function poolUiUri(pool: string, uri: string): string {
  return `${POOL_MARK}${encodeURIComponent(pool)}/${uri.slice(UI.length)}`
}

/** The pool and server URI behind a URI of the gateway's form (undefined for any other URI). */
export function parsePoolUiUri(uri: string): { pool: string; uri: string } | undefined {
  if (!uri.startsWith(POOL_MARK)) return undefined
  const slash = uri.indexOf('/', POOL_MARK.length)
  if (slash < 0) return undefined
  try {
    return { pool: decodeURIComponent(uri.slice(POOL_MARK.length, slash)), uri: UI + uri.slice(slash + 1) }
  } catch {
    return undefined
  }
}

/** The `ui://` URIs a tool names for its app (the current key and the older one; usually the same). */
function toolUiUris(tool: WithMeta): string[] {
  const meta = tool._meta
  const ui = meta?.ui as Meta | undefined
  const uris = [ui?.resourceUri, meta?.[RESOURCE_URI_META_KEY]]
  return [...new Set(uris.filter((uri): uri is string => typeof uri === 'string' && uri.startsWith(UI)))]
}

/** What one pool offers, as far as apps are concerned. */
export interface PoolApps {
  pool: string
  tools: WithMeta[]
  resources: { uri: string }[]
  /** The pool's tools are renamed or prefixed at the gateway. */
  renamed: boolean
}

/** The gateway's view of every pool's app URIs: which to rewrite, and where an unlisted one is read. */
export class AppUris {
  /** `ui://` URI → the pools that list it or name it in a tool's `_meta`. */
  private readonly users = new Map<string, Set<string>>()
  /** `ui://` URI → the first pool whose tool names it (where an unlisted URI is read). */
  private readonly namedBy = new Map<string, string>()
  private readonly renamed = new Set<string>()

  constructor(pools: PoolApps[] = []) {
    for (const { pool, tools, resources, renamed } of pools) {
      if (renamed) this.renamed.add(pool)
      for (const { uri } of resources) if (uri.startsWith(UI)) this.use(uri, pool)
      for (const tool of tools) {
        for (const uri of toolUiUris(tool)) {
          this.use(uri, pool)
          if (!this.namedBy.has(uri)) this.namedBy.set(uri, pool)
        }
      }
    }
  }

  /** What decides the exposed URIs (equal keys: the same lists): the renamed pools and the shared URIs. */
  get key(): string {
    const shared = [...this.users].filter(([, pools]) => pools.size > 1).map(([uri]) => uri)
    return JSON.stringify([[...this.renamed].sort(), shared.sort()])
  }

  private use(uri: string, pool: string) {
    this.users.set(uri, (this.users.get(uri) ?? new Set()).add(pool))
  }

  /** A pool's `ui://` URI as clients see it. */
  exposed(pool: string, uri: string): string {
    if (!uri.startsWith(UI)) return uri
    const rewrite = this.renamed.has(pool) || (this.users.get(uri)?.size ?? 0) > 1 || uri.startsWith(POOL_MARK)
    return rewrite ? poolUiUri(pool, uri) : uri
  }

  /** A tool as clients see it: its app's URI exposed, every other byte of `_meta` as the server sent it. */
  tool<T extends WithMeta>(pool: string, tool: T): T {
    const meta = tool._meta
    if (!meta || !toolUiUris(tool).some((uri) => this.exposed(pool, uri) !== uri)) return tool
    const ui = meta.ui as Meta | undefined
    const swap = (uri: unknown) => (typeof uri === 'string' ? this.exposed(pool, uri) : uri)
    const rewritten: Meta = { ...meta }
    if (ui && typeof ui === 'object' && 'resourceUri' in ui) rewritten.ui = { ...ui, resourceUri: swap(ui.resourceUri) }
    if (RESOURCE_URI_META_KEY in meta) rewritten[RESOURCE_URI_META_KEY] = swap(meta[RESOURCE_URI_META_KEY])
    return { ...tool, _meta: rewritten }
  }

  /** A listed resource as clients see it. */
  resource<T extends { uri: string }>(pool: string, resource: T): T {
    const uri = this.exposed(pool, resource.uri)
    return uri === resource.uri ? resource : { ...resource, uri }
  }

  /** The pool whose tool names `uri` for its app, for a read of a URI no server lists. */
  namer(uri: string): string | undefined {
    return this.namedBy.get(uri)
  }
}

/** A read result with the server's URI replaced by the one the client asked for (they name the same contents). */
export function asRequested(result: unknown, serverUri: string, requested: string): unknown {
  const contents = (result as { contents?: { uri?: string }[] } | undefined)?.contents
  if (serverUri === requested || !Array.isArray(contents)) return result
  // Copied with shallowCopy, not a spread: the contents' text (an app's HTML) is passed on unread (long-strings.ts).
  return { ...(result as object), contents: contents.map((c) => (c?.uri === serverUri ? Object.assign(shallowCopy(c), { uri: requested }) : c)) }
}
