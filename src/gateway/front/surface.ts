import type { Principal } from '../../http/principal.js'
import type { MergedLists, TaskMethod } from '../routing/index.js'
import { DISCOVERY_TOOL_NAMES, DISCOVERY_TOOLS, discoveryArguments, ToolCatalog, type ToolDefinition } from '../discovery/index.js'
import { resourceNotFound, unknownPrompt, unknownTool } from '../errors.js'
import { bindCaller } from '../calls/index.js'
import { ANONYMOUS, type ClientAccess, fullAccess, type GuardedCaller, type RequestGuard } from '../security/index.js'

/** What a client's surface reads of the router: the merged lists, how search ranks, the request guard. */
export type RouterView = Pick<MergedLists, 'revision' | 'listTools' | 'listPrompts' | 'listResources' | 'listResourceTemplates'> & {
  readonly searchByMeaning: boolean
  readonly guard: RequestGuard | undefined
  /** The tools and prompts offered to a caller by what it declared (upstreams/profiles.ts). */
  toolsFor(caller: object): ReturnType<MergedLists['listTools']> | Promise<ReturnType<MergedLists['listTools']>>
  promptsFor(caller: object): ReturnType<MergedLists['listPrompts']> | Promise<ReturnType<MergedLists['listPrompts']>>
}

const catalogs = new WeakMap<RouterView, { revision: number; catalog: ToolCatalog }>()

/** One search index per router, shared by every client and rebuilt only when the exposed tools change. */
export function catalogOf(router: RouterView): ToolCatalog {
  const cached = catalogs.get(router)
  if (cached && cached.revision === router.revision) return cached.catalog
  const catalog = new ToolCatalog(router.listTools() as ToolDefinition[], { byMeaning: router.searchByMeaning, previous: cached?.catalog })
  catalogs.set(router, { revision: router.revision, catalog })
  return catalog
}

function jsonResult(value: Record<string, unknown>) {
  return { content: [{ type: 'text' as const, text: JSON.stringify(value) }], structuredContent: value }
}

type Params = Record<string, unknown>

/** The router's forwarded requests, by params, for one kind of caller (a 2025 session's `extra`, a 2026 request…). */
export interface Forwarder<Caller extends object> {
  callTool(params: Params, caller: Caller): unknown
  getPrompt(params: Params, caller: Caller): unknown
  readResource(params: Params, caller: Caller): unknown
  complete(params: Params, caller: Caller): unknown
  taskRequest(method: TaskMethod, params: Params, caller: Caller): unknown
}

/**
 * What one client sees of the gateway: the router's lists filtered by the client's policies, calls to
 * names it may not use answered exactly like calls to names that do not exist, and in `search` discovery
 * mode three tools to search, describe and call the rest.
 */
export class ClientSurface<Caller extends object> {
  constructor(
    private readonly router: RouterView,
    private readonly forward: Forwarder<Caller>,
    readonly access: ClientAccess = fullAccess(),
    private readonly session?: object,
  ) {}

  /** Remembers which session a forwarded request came from (calls/isolation.ts routes the upstream's answers by it). */
  private bind(caller: Caller): Caller {
    if (this.session) bindCaller(caller, this.session)
    if (this.access.principal) (caller as { principal?: Principal }).principal = this.access.principal
    return caller
  }

  /**
   * A request to forward, under the gateway's guard when it has one (rate limits, audit): `allowed` says
   * whether the client's policy lets it through, `refuse` answers it when not.
   */
  private guarded(method: string, name: string, params: Params, caller: Caller, allowed: boolean, refuse: () => unknown, forward: () => unknown) {
    const guard = this.router.guard
    if (!guard) return allowed ? forward() : refuse()
    const principal = this.access.principal ?? ANONYMOUS
    return guard.run({ method, name, params, principal, allowed }, caller as GuardedCaller, refuse, forward)
  }

  private get searching(): boolean {
    return this.access.discovery === 'search'
  }

  async listTools(caller: Caller) {
    if (this.searching) return DISCOVERY_TOOLS
    return (await this.router.toolsFor(caller)).filter((tool) => this.access.tool(tool.name))
  }

  callTool(params: Params, caller: Caller) {
    this.bind(caller)
    const name = params.name as string
    if (this.searching && DISCOVERY_TOOL_NAMES.includes(name)) return this.callDiscoveryTool(params, caller)
    return this.callAllowedTool(params, caller)
  }

  private callAllowedTool(params: Params, caller: Caller) {
    const name = params.name as string
    return this.guarded('tools/call', name, params, caller, this.access.tool(name), () => {
      throw unknownTool(name)
    }, () => this.forward.callTool(params, caller))
  }

  private async callDiscoveryTool(params: Params, caller: Caller) {
    const name = params.name as string
    const args = discoveryArguments(name, params.arguments as Params | undefined)
    if (args.kind === 'error') return { content: [{ type: 'text' as const, text: args.error }], isError: true }
    // Search and describe find what the client may use and is offered (what it declared: upstreams/profiles.ts).
    const offered = args.kind === 'call' ? undefined : new Set((await this.router.toolsFor(caller)).map((tool) => tool.name))
    const allowed = (tool: string) => this.access.tool(tool) && !!offered?.has(tool)
    if (args.kind === 'search') return jsonResult({ tools: await catalogOf(this.router).search(args.query, allowed, args.limit) })
    if (args.kind === 'describe') return jsonResult(catalogOf(this.router).describe(args.names, allowed))
    // call_tool: routed and policy-checked exactly like a direct call; progress and cancellation follow the caller.
    return this.callAllowedTool({ ...params, name: args.name, arguments: args.arguments }, caller)
  }

  async listPrompts(caller: Caller) {
    return (await this.router.promptsFor(caller)).filter((prompt) => this.access.prompt(prompt.name))
  }

  getPrompt(params: Params, caller: Caller) {
    const name = params.name as string
    return this.guarded('prompts/get', name, params, caller, this.access.prompt(name), () => {
      throw unknownPrompt(name)
    }, () => this.forward.getPrompt(params, this.bind(caller)))
  }

  listResources() {
    return this.router.listResources(this.session).filter((resource) => this.access.resource(resource.uri))
  }

  listResourceTemplates() {
    return this.router.listResourceTemplates(this.session).filter((template) => this.access.resource(template.uriTemplate))
  }

  /** Throws what a resource that does not exist gets, unless the client may use `uri`. */
  checkResource(uri: string): void {
    if (!this.access.resource(uri)) throw resourceNotFound(uri)
  }

  readResource(params: Params, caller: Caller) {
    const uri = params.uri as string
    return this.guarded('resources/read', uri, params, caller, this.access.resource(uri), () => {
      throw resourceNotFound(uri)
    }, () => this.forward.readResource(params, this.bind(caller)))
  }

  complete(params: Params, caller: Caller) {
    const ref = params.ref as { type: string; name?: string; uri?: string }
    const hidden = ref.type === 'ref/prompt' ? !this.access.prompt(ref.name ?? '') : ref.type === 'ref/resource' && !this.access.resource(ref.uri ?? '')
    // Completing a hidden prompt or resource answers as for one that does not exist.
    return this.guarded('completion/complete', ref.name ?? ref.uri ?? '', params, caller, !hidden, () => ({ completion: { values: [] } }), () =>
      this.forward.complete(params, this.bind(caller)),
    )
  }

  /** tasks/*: on the session the task was started from (a 2025 session's task lives on its own upstream session). */
  taskRequest(method: TaskMethod, params: Params, caller: Caller) {
    return this.forward.taskRequest(method, params, this.bind(caller))
  }
}
