import { Server as ModernServer, type ServerContext } from '@modelcontextprotocol/server'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js'
import type { Caller, Router } from './router.js'
import type { GatewayState, StateSealer } from './sealed-state.js'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>
type Params = Record<string, unknown>

const CAPABILITIES = {
  tools: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
  logging: {},
  completions: {},
}

const RESERVED_META = /^io\.modelcontextprotocol\//

/** `_meta` keys a client sent that are worth passing upstream (trace context and the like). */
function passableMeta(meta: Params | undefined): Params | undefined {
  if (!meta) return undefined
  const kept = Object.fromEntries(Object.entries(meta).filter(([key]) => key !== 'progressToken' && !RESERVED_META.test(key)))
  return Object.keys(kept).length ? kept : undefined
}

/** A 2025 session's request as the router sees it (`logLevel`: what the session set with logging/setLevel). */
function callerOf(extra: Extra, logLevel?: string, clientCapabilities?: Params): Caller {
  return {
    era: 'legacy',
    logLevel,
    clientCapabilities,
    signal: extra.signal,
    progressToken: extra._meta?.progressToken,
    meta: passableMeta(extra._meta as Params | undefined),
    notify: (notification) => extra.sendNotification(notification as ServerNotification),
    request: (request) =>
      extra.sendRequest(
        request as ServerRequest,
        (request.method === 'elicitation/create'
          ? ElicitResultSchema
          : request.method === 'roots/list'
            ? ListRootsResultSchema
            : CreateMessageResultSchema) as never,
      ),
  }
}

/** A 2025 client session on the gateway (HTTP or stdio): an MCP server whose every request is answered by the router. */
export function createFrontSession(router: Router, info: { name: string; version: string }): Server {
  const server = new Server(info, { capabilities: CAPABILITIES })
  router.sessions.add(server)
  server.onclose = () => router.removeSession(server)
  let logLevel: string | undefined
  const legacyCaller = (extra: Extra) => callerOf(extra, logLevel, server.getClientCapabilities() as Params | undefined)
  server.setRequestHandler(SetLevelRequestSchema, (r) => ((logLevel = r.params.level), {}))
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: router.listTools() }))
  server.setRequestHandler(CallToolRequestSchema, (r, extra) => router.callTool(r.params, legacyCaller(extra)) as never)
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: router.listResources() }))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: router.listResourceTemplates(),
  }))
  server.setRequestHandler(ReadResourceRequestSchema, (r, extra) => router.readResource(r.params, legacyCaller(extra)) as never)
  server.setRequestHandler(SubscribeRequestSchema, (r) => router.subscribe(server, r.params.uri))
  server.setRequestHandler(UnsubscribeRequestSchema, (r) => router.unsubscribe(server, r.params.uri))
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: router.listPrompts() }))
  server.setRequestHandler(GetPromptRequestSchema, (r, extra) => router.getPrompt(r.params, legacyCaller(extra)) as never)
  server.setRequestHandler(CompleteRequestSchema, (r, extra) => router.complete(r.params, legacyCaller(extra)) as never)
  return server
}

/** A request served by the SDK v2 server (a 2026 request, or a 2025 one on the stdio front) as the router sees it. */
function modernCaller(ctx: ServerContext): Caller {
  const envelope = ctx.mcpReq.envelope as Params | undefined
  const modern = envelope?.['io.modelcontextprotocol/protocolVersion'] !== undefined
  const meta = ctx.mcpReq._meta as Params | undefined
  const base = {
    signal: ctx.mcpReq.signal,
    progressToken: meta?.progressToken as string | number | undefined,
    meta: passableMeta(meta),
    notify: (notification: { method: string; params?: Params }) => ctx.mcpReq.notify(notification as never),
  }
  if (!modern) {
    return { ...base, era: 'legacy', request: (request) => ctx.mcpReq.send(request as never) }
  }
  return {
    ...base,
    era: 'modern',
    inputResponses: ctx.mcpReq.inputResponses,
    state: ctx.mcpReq.requestState<GatewayState>(),
    logLevel: envelope?.['io.modelcontextprotocol/logLevel'] as string | undefined,
    clientCapabilities: envelope?.['io.modelcontextprotocol/clientCapabilities'] as Params | undefined,
  }
}

/**
 * The gateway as an SDK v2 server, built per 2026 request (and per stdio connection): nothing about a
 * client is kept between requests. The gateway's sealed `requestState` is verified before any handler runs.
 */
export function createModernServer(router: Router, info: { name: string; version: string }, sealer: StateSealer): ModernServer {
  const server = new ModernServer(info, {
    capabilities: CAPABILITIES,
    requestState: { verify: (state: string) => sealer.open(state) },
  })
  server.setRequestHandler('tools/list', () => ({ tools: router.listTools(), ...router.cacheHint('tools') }) as never)
  server.setRequestHandler('tools/call', (r, ctx) => router.callTool(r.params as Params, modernCaller(ctx)) as never)
  server.setRequestHandler('resources/list', () => ({ resources: router.listResources(), ...router.cacheHint('resources') }) as never)
  server.setRequestHandler(
    'resources/templates/list',
    () => ({ resourceTemplates: router.listResourceTemplates(), ...router.cacheHint('resourceTemplates') }) as never,
  )
  server.setRequestHandler('resources/read', (r, ctx) => router.readResource(r.params as Params, modernCaller(ctx)) as never)
  server.setRequestHandler('prompts/list', () => ({ prompts: router.listPrompts(), ...router.cacheHint('prompts') }) as never)
  server.setRequestHandler('prompts/get', (r, ctx) => router.getPrompt(r.params as Params, modernCaller(ctx)) as never)
  server.setRequestHandler('completion/complete', (r, ctx) => router.complete(r.params as Params, modernCaller(ctx)) as never)
  return server
}
