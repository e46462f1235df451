import { Server as ModernServer, type ServerContext } from '@modelcontextprotocol/server'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  CallToolRequestSchema,
  CancelTaskRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js'
import type { TraceCarrier } from '../telemetry/tracing.js'
import { APPS_EXTENSION } from './apps.js'
import { answerToolCallsDirectly, type DirectExtra } from './direct-calls.js'
import { frontMethods, passableMeta } from './front-methods.js'
import { setSessionLevel } from './isolation.js'
import type { ClientAccess } from './policy.js'
import type { Caller, Router } from './router.js'
import type { GatewayState, StateSealer } from './sealed-state.js'
import { ClientSurface } from './surface.js'
import { TASKS_EXTENSION } from '../runtime/tasks.js'
import { z } from 'zod'

/** What a 2025 request's handler is given: the SDK's `extra`, or the same fields on the direct path. */
type Extra = DirectExtra
type Params = Record<string, unknown>

const CAPABILITIES = {
  tools: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
  logging: {},
  completions: {},
  extensions: APPS_EXTENSION,
  // 2025-11-25's experimental tasks: a call that asks for one gets its upstream's task, if it makes one.
  tasks: { cancel: {}, requests: { tools: { call: {} } } },
}

/** 2026 clients: tasks of upstreams that run tools as tasks pass through (io.modelcontextprotocol/tasks). */
const { tasks: _legacyTasks, ...SHARED_CAPABILITIES } = CAPABILITIES
export const MODERN_CAPABILITIES = { ...SHARED_CAPABILITIES, extensions: { ...APPS_EXTENSION, [TASKS_EXTENSION]: {} } }

const TaskIdParams = z.looseObject({ taskId: z.string() })

/** A 2025 session's request as the router sees it (`logLevel`: what the session set with logging/setLevel). */
function callerOf(extra: Extra, logLevel?: string, clientCapabilities?: Params): Caller {
  return {
    era: 'legacy',
    logLevel,
    clientCapabilities,
    get signal() {
      return extra.signal
    },
    cancellation: extra.cancellation,
    sessionId: extra.sessionId,
    requestId: extra.requestId,
    headers: extra.requestInfo?.headers as TraceCarrier | undefined,
    progressToken: extra._meta?.progressToken as string | number | undefined,
    meta: passableMeta(extra._meta),
    notify: (notification) => extra.sendNotification(notification as ServerNotification),
    request: (request, signal) =>
      extra.sendRequest(
        request as ServerRequest,
        (request.method === 'elicitation/create'
          ? ElicitResultSchema
          : request.method === 'roots/list'
            ? ListRootsResultSchema
            : CreateMessageResultSchema) as never,
        { signal },
      ),
  }
}

/** The router's forwarded requests, as the surface passes them on. */
function forwarderOf(router: Router) {
  return {
    callTool: (params: Params, caller: Caller) => router.callTool(params, caller),
    getPrompt: (params: Params, caller: Caller) => router.getPrompt(params, caller),
    readResource: (params: Params, caller: Caller) => router.readResource(params, caller),
    complete: (params: Params, caller: Caller) => router.complete(params, caller),
  }
}

/** What one client (its access; its 2025 session, if it has one) sees of the router. */
export function surfaceFor(router: Router, access?: ClientAccess, session?: object): ClientSurface<Caller> {
  return new ClientSurface<Caller>(router, forwarderOf(router), access, session)
}

/** The SDK's server for a 2025 session, with its tools/call answered in front of its protocol layer (direct-calls.ts). */
class FrontServer extends Server {
  callTool: ((params: Params, extra: Extra) => unknown) | undefined

  override async connect(transport: Transport): Promise<void> {
    await super.connect(transport)
    const callTool = this.callTool
    if (callTool) answerToolCallsDirectly(transport, callTool, (request, schema, options) => this.request(request as ServerRequest, schema as never, options))
  }
}

/**
 * A 2025 client session on the gateway (HTTP): an MCP server whose every request is answered by the
 * router, through the client's surface (its policies and discovery mode).
 */
export function createFrontSession(router: Router, info: { name: string; version: string }, access?: ClientAccess): Server {
  const server = new FrontServer(info, { capabilities: CAPABILITIES, instructions: router.instructions() })
  const surface = new ClientSurface<Caller>(router, forwarderOf(router), access, server)
  router.sessions.add(server)
  server.onclose = () => router.removeSession(server)
  let logLevel: string | undefined
  const legacyCaller = (extra: Extra) => ({
    ...callerOf(extra, logLevel, server.getClientCapabilities() as Params | undefined),
    principal: access?.principal,
  })
  // Logs of no call go only to the sessions that asked for their level (see isolation.ts).
  server.setRequestHandler(SetLevelRequestSchema, (r) => ((logLevel = r.params.level), setSessionLevel(server, r.params.level), {}))
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: surface.listTools() }))
  server.callTool = (params, extra) => surface.callTool(params, legacyCaller(extra as Extra))
  server.setRequestHandler(CallToolRequestSchema, (r, extra) => server.callTool!(r.params, extra as Extra) as never)
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: surface.listResources() }))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: surface.listResourceTemplates(),
  }))
  server.setRequestHandler(ReadResourceRequestSchema, (r, extra) => surface.readResource(r.params, legacyCaller(extra as Extra)) as never)
  server.setRequestHandler(SubscribeRequestSchema, (r) => {
    surface.checkResource(r.params.uri)
    return router.subscribe(server, r.params.uri)
  })
  server.setRequestHandler(UnsubscribeRequestSchema, (r) => router.unsubscribe(server, r.params.uri))
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: surface.listPrompts() }))
  // 2025-11-25 tasks (experimental `tasks` capability) of upstreams, by the ids the gateway sealed.
  for (const [method, schema] of [
    ['tasks/get', GetTaskRequestSchema],
    ['tasks/result', GetTaskPayloadRequestSchema],
    ['tasks/cancel', CancelTaskRequestSchema],
  ] as const) {
    server.setRequestHandler(schema as typeof GetTaskRequestSchema, (r, extra) => router.taskRequest(method, r.params, legacyCaller(extra as Extra)) as never)
  }
  server.setRequestHandler(GetPromptRequestSchema, (r, extra) => surface.getPrompt(r.params, legacyCaller(extra as Extra)) as never)
  server.setRequestHandler(CompleteRequestSchema, (r, extra) => surface.complete(r.params, legacyCaller(extra as Extra)) as never)
  server.setNotificationHandler(RootsListChangedNotificationSchema, () => router.rootsChanged(server))
  return server
}

/** A request served by the SDK v2 server (a 2026 request, or a 2025 one on the stdio front) as the router sees it. */
function modernCaller(ctx: ServerContext, access?: ClientAccess): Caller {
  const envelope = ctx.mcpReq.envelope as Params | undefined
  const modern = envelope?.['io.modelcontextprotocol/protocolVersion'] !== undefined
  const meta = ctx.mcpReq._meta as Params | undefined
  const base = {
    principal: access?.principal,
    signal: ctx.mcpReq.signal,
    requestId: ctx.mcpReq.id,
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

/** The server whose capabilities and identity the SDK's listen router reads for a `subscriptions/listen` stream. */
export function createListenServer(info: { name: string; version: string }, instructions: string | undefined): ModernServer {
  return new ModernServer(info, { capabilities: MODERN_CAPABILITIES, instructions })
}

/**
 * The gateway as an SDK v2 server on stdio (one per connection, either era): the SDK's stdio codec decodes
 * each request, and the front's methods (front-methods.ts) answer it, as on HTTP. The gateway's sealed
 * `requestState` is verified before any handler runs; the client's surface applies as on HTTP.
 */
export function createModernServer(
  router: Router,
  info: { name: string; version: string },
  sealer: StateSealer,
  access?: ClientAccess,
): ModernServer {
  const server = new ModernServer(info, {
    capabilities: MODERN_CAPABILITIES,
    instructions: router.instructions(),
    requestState: { verify: (state: string) => sealer.open(state) },
  })
  const surface = surfaceFor(router, access)
  for (const [method, answer] of frontMethods(router)) {
    if (method === 'ping') continue
    // Task methods are an extension's, unknown to the SDK's schemas: their params are checked as the extension says.
    if (method.startsWith('tasks/')) server.setRequestHandler(method, { params: TaskIdParams }, (params, ctx) => answer(params, modernCaller(ctx, access), surface) as never)
    else server.setRequestHandler(method as 'tools/call', (request, ctx) => answer(request.params as Params, modernCaller(ctx, access), surface) as never)
  }
  return server
}
