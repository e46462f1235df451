import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolRequest,
  type CompleteRequest,
  type GetPromptRequest,
  type ReadResourceRequest,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js'
import { setSessionLevel } from './isolation.js'
import type { ClientAccess } from './policy.js'
import type { Router } from './router.js'
import { ClientSurface } from './surface.js'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/**
 * A client session on the gateway: an MCP server whose every request is answered by the router, through
 * the client's surface (its policies and discovery mode).
 */
export function createFrontSession(router: Router, info: { name: string; version: string }, access?: ClientAccess): Server {
  const server = new Server(info, {
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
    },
  })
  // The v1 router takes whole requests; the surface speaks in params.
  const surface = new ClientSurface(
    router,
    {
      callTool: (params, extra: Extra) => router.callTool({ method: 'tools/call', params } as CallToolRequest, extra),
      getPrompt: (params, extra: Extra) => router.getPrompt({ method: 'prompts/get', params } as GetPromptRequest, extra),
      readResource: (params, extra: Extra) => router.readResource({ method: 'resources/read', params } as ReadResourceRequest, extra),
      complete: (params, extra: Extra) => router.complete({ method: 'completion/complete', params } as CompleteRequest, extra),
    },
    access,
    server,
  )
  router.sessions.add(server)
  server.onclose = () => router.removeSession(server)
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: surface.listTools() }))
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => surface.callTool(request.params, extra) as never)
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: surface.listResources() }))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: surface.listResourceTemplates(),
  }))
  server.setRequestHandler(ReadResourceRequestSchema, (request, extra) => surface.readResource(request.params, extra) as never)
  server.setRequestHandler(SubscribeRequestSchema, (request, extra) => {
    surface.checkResource(request.params.uri)
    return router.subscribe(server, request, extra)
  })
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => router.unsubscribe(server, request))
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: surface.listPrompts() }))
  server.setRequestHandler(GetPromptRequestSchema, (request, extra) => surface.getPrompt(request.params, extra) as never)
  // Logs of no call go only to the sessions that asked for their level (see isolation.ts).
  server.setRequestHandler(SetLevelRequestSchema, (request) => (setSessionLevel(server, request.params.level), {}))
  server.setRequestHandler(CompleteRequestSchema, (request, extra) => surface.complete(request.params, extra) as never)
  return server
}
