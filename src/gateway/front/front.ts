// The gateway's front: the SDK servers a client session or stdio connection talks to, over the front's methods (front-methods.ts).
import { Server, type ServerContext, type Transport } from '@modelcontextprotocol/server'
import { APPS_EXTENSION } from '../names/index.js'
import { frontMethods, passableMeta } from './front-methods.js'
import { type Caller, type GatewayState, setSessionLevel, type StateSealer } from '../calls/index.js'
import type { ClientAccess } from '../security/index.js'
import type { Router, TaskMethod } from '../routing/index.js'
import { answerSessionRequests, sessionCaller } from './session-codec.js'
import { ClientSurface } from './surface.js'
import { TASKS_EXTENSION } from '../../runtime/tasks.js'
import { z } from 'zod'

type Params = Record<string, unknown>
/** The client's requests to itself an upstream may make through the gateway (2025 sessions). */
type ClientRequestMethod = 'elicitation/create' | 'sampling/createMessage' | 'roots/list'

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

/** The router's forwarded requests, as the surface passes them on. */
function forwarderOf(router: Router) {
  return {
    callTool: (params: Params, caller: Caller) => router.callTool(params, caller),
    getPrompt: (params: Params, caller: Caller) => router.getPrompt(params, caller),
    readResource: (params: Params, caller: Caller) => router.readResource(params, caller),
    complete: (params: Params, caller: Caller) => router.complete(params, caller),
    taskRequest: (method: TaskMethod, params: Params, caller: Caller) => router.taskRequest(method, params, caller),
  }
}

/** What one client (its access; its 2025 session, if it has one) sees of the router. */
export function surfaceFor(router: Router, access?: ClientAccess, session?: object): ClientSurface<Caller> {
  return new ClientSurface<Caller>(router, forwarderOf(router), access, session)
}

/**
 * What only a 2025 session has: its log level, resource subscriptions and roots, and the router's word
 * about list changes (the session registers with the router until it closes).
 */
function addSessionMethods(server: Server, router: Router, surface: ClientSurface<Caller>, onLevel?: (level: string) => void): void {
  router.sessions.add(server)
  server.onclose = () => router.removeSession(server)
  // Logs of no call go only to the sessions that asked for their level (see calls/isolation.ts).
  server.setRequestHandler('logging/setLevel', (r) => (onLevel?.(r.params.level), setSessionLevel(server, r.params.level), {}))
  server.setRequestHandler('resources/subscribe', (r) => (surface.checkResource(r.params.uri), router.subscribe(server, r.params.uri)))
  server.setRequestHandler('resources/unsubscribe', (r) => router.unsubscribe(server, r.params.uri))
  server.setNotificationHandler('notifications/roots/list_changed', () => void router.rootsChanged(server))
}

/** The SDK's server for a 2025 session, whose requests for the front's methods the session codec answers. */
class FrontSession extends Server {
  answerFor: Parameters<typeof answerSessionRequests>[1] | undefined

  override async connect(transport: Transport): Promise<void> {
    await super.connect(transport)
    const answerFor = this.answerFor
    if (answerFor) {
      answerSessionRequests(transport, answerFor, (request, options) =>
        this.request({ method: request.method as ClientRequestMethod, params: request.params }, options),
      )
    }
  }
}

/**
 * A 2025 client session on the gateway (Streamable HTTP or SSE): its requests go through the session codec
 * into the front's methods, through the client's surface (its policies and discovery mode).
 */
export function createFrontSession(router: Router, info: { name: string; version: string }, access?: ClientAccess): Server {
  const server = new FrontSession(info, { capabilities: CAPABILITIES, instructions: router.instructions() })
  const surface = surfaceFor(router, access, server)
  const methods = frontMethods(router, 'legacy')
  let logLevel: string | undefined
  addSessionMethods(server, router, surface, (level) => (logLevel = level))
  server.answerFor = (method) => {
    const answer = methods.get(method)
    if (!answer) return undefined
    return (request) =>
      answer(
        request.params,
        sessionCaller(request, { logLevel, clientCapabilities: server.getClientCapabilities() as Params | undefined, principal: access?.principal }),
        surface,
      )
  }
  return server
}

/** A request the SDK's stdio codec decoded (either era) as the router sees it. */
function modernCaller(ctx: ServerContext, server: Server, access?: ClientAccess): Caller {
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
    return {
      ...base,
      era: 'legacy',
      clientCapabilities: server.getClientCapabilities() as Params | undefined,
      request: (request) => ctx.mcpReq.send(request as never),
    }
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
export function createListenServer(info: { name: string; version: string }, instructions: string | undefined): Server {
  return new Server(info, { capabilities: MODERN_CAPABILITIES, instructions })
}

/**
 * The gateway as an SDK v2 server on stdio (one per connection, either era): the SDK's stdio codec decodes
 * each request, and the front's methods (front-methods.ts) answer it, as on HTTP. The gateway's sealed
 * `requestState` is verified before any handler runs; the client's surface applies as on HTTP.
 */
export function createStdioServer(
  router: Router,
  info: { name: string; version: string },
  sealer: StateSealer,
  era: 'legacy' | 'modern',
  access?: ClientAccess,
): Server {
  const server = new Server(info, {
    capabilities: MODERN_CAPABILITIES,
    instructions: router.instructions(),
    requestState: { verify: (state: string) => sealer.open(state) },
  })
  const surface = surfaceFor(router, access, era === 'legacy' ? server : undefined)
  if (era === 'legacy') addSessionMethods(server, router, surface)
  for (const [method, answer] of frontMethods(router, era)) {
    // Task methods are an extension's, unknown to the SDK's schemas: their params are checked as the extension says.
    if (method.startsWith('tasks/')) server.setRequestHandler(method, { params: TaskIdParams }, (params, ctx) => answer(params, modernCaller(ctx, server, access), surface) as never)
    else server.setRequestHandler(method as 'tools/call', (request, ctx) => answer(request.params as Params, modernCaller(ctx, server, access), surface) as never)
  }
  return server
}
