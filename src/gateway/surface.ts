import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import {
  ErrorCode,
  McpError,
  type CallToolRequest,
  type CompleteRequest,
  type GetPromptRequest,
  type ReadResourceRequest,
  type ServerNotification,
  type ServerRequest,
  type SubscribeRequest,
} from '@modelcontextprotocol/sdk/types.js'
import {
  DISCOVERY_TOOL_NAMES,
  DISCOVERY_TOOLS,
  discoveryArguments,
  ToolCatalog,
  type ToolDefinition,
} from './discovery.js'
import { bindCaller } from './isolation.js'
import { fullAccess, type ClientAccess } from './policy.js'
import type { Router } from './router.js'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** The one answer to a tool name a client cannot use, whether it does not exist or is denied: no oracle. */
export function unknownTool(name: string): McpError {
  return new McpError(ErrorCode.InvalidParams, `Unknown tool "${name}".`)
}

export function unknownPrompt(name: string): McpError {
  return new McpError(ErrorCode.InvalidParams, `Unknown prompt "${name}".`)
}

export const RESOURCE_NOT_FOUND = -32002

export function resourceNotFound(uri: string): McpError {
  return new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`)
}

const catalogs = new WeakMap<Router, { revision: number; catalog: ToolCatalog }>()

/** One search index per router, shared by every client and rebuilt only when the exposed tools change. */
export function catalogOf(router: Router): ToolCatalog {
  const cached = catalogs.get(router)
  if (cached && cached.revision === router.revision) return cached.catalog
  const catalog = new ToolCatalog(router.listTools() as ToolDefinition[])
  catalogs.set(router, { revision: router.revision, catalog })
  return catalog
}

function jsonResult(value: Record<string, unknown>) {
  return { content: [{ type: 'text' as const, text: JSON.stringify(value) }], structuredContent: value }
}

/**
 * What one client sees of the gateway: the router's lists filtered by the client's policies, calls to
 * names it may not use answered exactly like calls to names that do not exist, and in `search` discovery
 * mode three tools to search, describe and call the rest.
 */
export class ClientSurface {
  constructor(
    private readonly router: Router,
    readonly access: ClientAccess = fullAccess(),
    private readonly session?: Server,
  ) {}

  /** Remembers which session a forwarded request came from (isolation.ts routes the upstream's answers by it). */
  private bind(extra: Extra): Extra {
    if (this.session) bindCaller(extra, this.session)
    return extra
  }

  private get searching(): boolean {
    return this.access.discovery === 'search'
  }

  listTools() {
    if (this.searching) return DISCOVERY_TOOLS
    return this.router.listTools().filter((tool) => this.access.tool(tool.name))
  }

  callTool(request: CallToolRequest, extra: Extra) {
    this.bind(extra)
    const name = request.params.name
    if (this.searching && DISCOVERY_TOOL_NAMES.includes(name)) return this.callDiscoveryTool(request, extra)
    return this.callAllowedTool(request, extra)
  }

  private callAllowedTool(request: CallToolRequest, extra: Extra) {
    if (!this.access.tool(request.params.name)) throw unknownTool(request.params.name)
    return this.router.callTool(request, extra)
  }

  private async callDiscoveryTool(request: CallToolRequest, extra: Extra) {
    const name = request.params.name
    const args = discoveryArguments(name, request.params.arguments)
    const allowed = (tool: string) => this.access.tool(tool)
    if (args.kind === 'error') return { content: [{ type: 'text' as const, text: args.error }], isError: true }
    if (args.kind === 'search') return jsonResult({ tools: catalogOf(this.router).search(args.query, allowed, args.limit) })
    if (args.kind === 'describe') return jsonResult(catalogOf(this.router).describe(args.names, allowed))
    if (args.kind === 'call') {
      // Routed and policy-checked exactly like a direct call of that name; progress and cancellation follow `extra`.
      return this.callAllowedTool(
        { ...request, params: { _meta: request.params._meta, name: args.name, arguments: args.arguments } },
        extra,
      )
    }
    throw unknownTool(name)
  }

  listPrompts() {
    return this.router.listPrompts().filter((prompt) => this.access.prompt(prompt.name))
  }

  getPrompt(request: GetPromptRequest, extra: Extra) {
    if (!this.access.prompt(request.params.name)) throw unknownPrompt(request.params.name)
    return this.router.getPrompt(request, this.bind(extra))
  }

  listResources() {
    return this.router.listResources().filter((resource) => this.access.resource(resource.uri))
  }

  listResourceTemplates() {
    return this.router.listResourceTemplates().filter((template) => this.access.resource(template.uriTemplate))
  }

  readResource(request: ReadResourceRequest, extra: Extra) {
    if (!this.access.resource(request.params.uri)) throw resourceNotFound(request.params.uri)
    return this.router.readResource(request, this.bind(extra))
  }

  subscribe(session: Server, request: SubscribeRequest, extra: Extra) {
    if (!this.access.resource(request.params.uri)) throw resourceNotFound(request.params.uri)
    return this.router.subscribe(session, request, extra)
  }

  complete(request: CompleteRequest, extra: Extra) {
    const ref = request.params.ref
    const hidden = ref.type === 'ref/prompt' ? !this.access.prompt(ref.name) : ref.type === 'ref/resource' && !this.access.resource(ref.uri)
    // Completing a hidden prompt or resource answers as for one that does not exist.
    if (hidden) return { completion: { values: [] } }
    return this.router.complete(request, this.bind(extra))
  }
}
