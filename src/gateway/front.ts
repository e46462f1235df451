import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import type { Router } from './router.js'

/** A client session on the gateway: an MCP server whose every request is answered by the router. */
export function createFrontSession(router: Router, info: { name: string; version: string }): Server {
  const server = new Server(info, {
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
    },
  })
  router.sessions.add(server)
  server.onclose = () => router.removeSession(server)
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: router.listTools() }))
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => router.callTool(request, extra) as never)
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: router.listResources() }))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: router.listResourceTemplates(),
  }))
  server.setRequestHandler(ReadResourceRequestSchema, (request, extra) => router.readResource(request, extra) as never)
  server.setRequestHandler(SubscribeRequestSchema, (request, extra) => router.subscribe(server, request, extra))
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => router.unsubscribe(server, request))
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: router.listPrompts() }))
  server.setRequestHandler(GetPromptRequestSchema, (request, extra) => router.getPrompt(request, extra) as never)
  server.setRequestHandler(CompleteRequestSchema, (request, extra) => router.complete(request, extra) as never)
  return server
}
