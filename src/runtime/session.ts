import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js'
import type { CallTelemetry } from '../telemetry/calls.js'
import { serverCallInfo } from './call-telemetry.js'
import { describeIssues } from './params.js'
import { composePlugins, type Plugin, type ToolCall } from './plugin.js'
import { toPromptResult, type PromptDefinition } from './prompt.js'
import { matchTemplate, toResourceContents, type ResourceDefinition } from './resource.js'
import { errorResult, toToolResult, type LogLevel, type ToolContext, type ToolDefinition } from './tool.js'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** Everything one MCP server serves; each client session gets its own SDK `Server` built from it. */
export interface ServerParts {
  name: string
  version: string
  title?: string
  description?: string
  instructions?: string
  tools: ToolDefinition[]
  resources: ResourceDefinition[]
  prompts: PromptDefinition[]
  use: Plugin[]
  /** Metrics and spans around each tool call (inactive until the server starts them). */
  telemetry?: CallTelemetry
  /** `network.transport` of the spans: `pipe` for stdio, `tcp` for HTTP. */
  transport?: 'pipe' | 'tcp'
}

/** MCP's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002
const MAX_COMPLETIONS = 100

function assertUnique(kind: string, names: string[]): void {
  const seen = new Set<string>()
  for (const name of names) {
    if (seen.has(name)) throw new TypeError(`Duplicate ${kind} "${name}". Try this: give each ${kind} its own name.`)
    seen.add(name)
  }
}

function makeContext(server: Server, extra: Extra, signal: AbortSignal): ToolContext {
  const levelIgnored = (level: LogLevel) =>
    (server as unknown as { isMessageIgnored?: (l: LogLevel, s?: string) => boolean }).isMessageIgnored?.(
      level,
      extra.sessionId,
    ) ?? false
  return {
    signal,
    sessionId: extra.sessionId,
    async log(level, data) {
      if (levelIgnored(level)) return
      await extra.sendNotification({ method: 'notifications/message', params: { level, data } })
    },
    async progress(progress, total, message) {
      const progressToken = extra._meta?.progressToken
      if (progressToken === undefined) return
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken, progress, total, message },
      })
    },
    sample: (params) =>
      extra.sendRequest({ method: 'sampling/createMessage', params } as ServerRequest, CreateMessageResultSchema),
    elicit: (params) =>
      extra.sendRequest({ method: 'elicitation/create', params } as ServerRequest, ElicitResultSchema),
  }
}

/** Builds the per-session SDK server factory for a server's tools, resources and prompts. */
export function createSessionFactory(parts: ServerParts) {
  assertUnique('tool', parts.tools.map((t) => t.name))
  assertUnique('prompt', parts.prompts.map((p) => p.name))
  assertUnique('resource', parts.resources.map((r) => r.uri))
  const tools = new Map(parts.tools.map((t) => [t.name, t]))
  const prompts = new Map(parts.prompts.map((p) => [p.name, p]))
  const fixedResources = parts.resources.filter((r) => !r.isTemplate)
  const templates = parts.resources.filter((r) => r.isTemplate)
  const runTool = composePlugins(parts.use, async (call: ToolCall) =>
    toToolResult(await call.tool.handler(call.args, call.context)),
  )
  /** Live sessions and the resource URIs each subscribed to. */
  const sessions = new Map<Server, Set<string>>()
  const hasCompletions =
    parts.prompts.some((p) => p.complete) || templates.some((r) => r.complete)

  function findResource(uri: string) {
    const fixed = fixedResources.find((r) => r.uri === uri)
    if (fixed) return { resource: fixed, variables: {} }
    for (const resource of templates) {
      const variables = matchTemplate(resource.uri, uri)
      if (variables) return { resource, variables }
    }
    return undefined
  }

  function createSession(): Server {
    const server = new Server(
      { name: parts.name, version: parts.version, title: parts.title, description: parts.description } as {
        name: string
        version: string
      },
      {
        capabilities: {
          tools: { listChanged: true },
          logging: {},
          ...(parts.resources.length ? { resources: { subscribe: true, listChanged: true } } : {}),
          ...(parts.prompts.length ? { prompts: { listChanged: true } } : {}),
          ...(hasCompletions ? { completions: {} } : {}),
        },
        instructions: parts.instructions,
      },
    )
    sessions.set(server, new Set())
    const previousOnClose = server.onclose
    server.onclose = () => {
      sessions.delete(server)
      previousOnClose?.()
    }

    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [...tools.values()].map((t) => ({
        name: t.name,
        title: t.title,
        description: t.description,
        inputSchema: t.inputSchema,
        annotations: t.annotations,
      })),
    }))

    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const tool = tools.get(request.params.name)
      if (!tool) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Unknown tool "${request.params.name}". Available: ${[...tools.keys()].join(', ') || 'none'}.`,
        )
      }
      const answer = async () => {
        // Validation failures are tool errors (isError) so the model can correct its arguments.
        const parsed = tool.schema.safeParse(request.params.arguments ?? {})
        if (!parsed.success) {
          return errorResult(`Invalid arguments for tool "${tool.name}": ${describeIssues(parsed.error)}`)
        }
        const context = makeContext(server, extra, extra.signal)
        try {
          return await runTool({ tool, args: parsed.data as Record<string, unknown>, context })
        } catch (error) {
          return errorResult(error)
        }
      }
      return parts.telemetry
        ? parts.telemetry.run(serverCallInfo(parts.name, request, extra, parts.transport ?? 'tcp'), answer)
        : answer()
    })

    if (parts.resources.length) {
      server.setRequestHandler(ListResourcesRequestSchema, () => ({
        resources: fixedResources.map((r) => ({
          uri: r.uri,
          name: r.name,
          title: r.title,
          description: r.description,
          mimeType: r.mimeType,
        })),
      }))
      server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
        resourceTemplates: templates.map((r) => ({
          uriTemplate: r.uri,
          name: r.name,
          title: r.title,
          description: r.description,
          mimeType: r.mimeType,
        })),
      }))
      server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
        const { uri } = request.params
        const found = findResource(uri)
        if (!found) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri })
        try {
          const value = await found.resource.handler(uri, found.variables)
          return { contents: toResourceContents(uri, value, found.resource.mimeType) }
        } catch (error) {
          if (error instanceof McpError) throw error
          throw new McpError(ErrorCode.InternalError, `Reading ${uri} failed: ${(error as Error)?.message ?? error}`)
        }
      })
      server.setRequestHandler(SubscribeRequestSchema, (request) => {
        sessions.get(server)?.add(request.params.uri)
        return {}
      })
      server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
        sessions.get(server)?.delete(request.params.uri)
        return {}
      })
    }

    if (parts.prompts.length) {
      server.setRequestHandler(ListPromptsRequestSchema, () => ({
        prompts: parts.prompts.map((p) => ({
          name: p.name,
          title: p.title,
          description: p.description,
          arguments: p.arguments,
        })),
      }))
      server.setRequestHandler(GetPromptRequestSchema, async (request) => {
        const prompt = prompts.get(request.params.name)
        if (!prompt) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt "${request.params.name}".`)
        const args = request.params.arguments ?? {}
        const missing = prompt.arguments.filter((a) => a.required && args[a.name] === undefined).map((a) => a.name)
        if (missing.length) {
          throw new McpError(
            ErrorCode.InvalidParams,
            `Prompt "${prompt.name}" is missing required argument(s): ${missing.join(', ')}.`,
          )
        }
        return toPromptResult(await prompt.handler(args), prompt.description)
      })
    }

    if (hasCompletions) {
      server.setRequestHandler(CompleteRequestSchema, async (request) => {
        const { ref, argument, context } = request.params
        let complete: ((value: string, ctx: Record<string, string>) => string[] | Promise<string[]>) | undefined
        if (ref.type === 'ref/prompt') complete = prompts.get(ref.name)?.complete?.[argument.name]
        else complete = templates.find((r) => r.uri === ref.uri)?.complete?.[argument.name]
        const values = complete ? await complete(argument.value, context?.arguments ?? {}) : []
        return {
          completion: {
            values: values.slice(0, MAX_COMPLETIONS),
            total: values.length,
            hasMore: values.length > MAX_COMPLETIONS,
          },
        }
      })
    }
    return server
  }

  /** Sends `notifications/resources/updated` to every session subscribed to `uri`. */
  async function notifyResourceUpdated(uri: string): Promise<void> {
    await Promise.allSettled(
      [...sessions].filter(([, uris]) => uris.has(uri)).map(([server]) => server.sendResourceUpdated({ uri })),
    )
  }

  /** Adds or replaces a tool while serving and tells every session (`notifications/tools/list_changed`). */
  async function setTool(tool: ToolDefinition): Promise<void> {
    tools.set(tool.name, tool)
    await Promise.allSettled([...sessions.keys()].map((server) => server.sendToolListChanged()))
  }

  /** Removes a tool while serving and tells every session. */
  async function removeTool(name: string): Promise<void> {
    if (!tools.delete(name)) return
    await Promise.allSettled([...sessions.keys()].map((server) => server.sendToolListChanged()))
  }

  return { createSession, notifyResourceUpdated, setTool, removeTool, sessions }
}
