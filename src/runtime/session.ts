import {
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  Server,
  type CacheHint,
  type InputRequiredResult,
  type ServerContext,
} from '@modelcontextprotocol/server'
import { createRoundCodec, envelopeCapabilities, runRound, type Ask, type InputMethod, type RoundCodec } from './input-rounds.js'
import type { CallInfo, CallTelemetry } from '../telemetry/calls.js'
import type { TraceCarrier } from '../telemetry/tracing.js'
import { serverCallInfo } from './call-telemetry.js'
import { appResources, appToolMeta } from './app.js'
import type { ToolCallParams } from '../http/jsonrpc.js'
import type { Principal } from '../http/principal.js'
import { describeIssues } from './params.js'
import { withRelatedRequest } from './stdio-wire.js'
import { composePlugins, type Plugin, type ToolCall } from './plugin.js'
import { toPromptResult, type PromptDefinition } from './prompt.js'
import { matchTemplate, toResourceContents, type ResourceDefinition } from './resource.js'
import { errorResult, toToolResult, type LogLevel, type ToolContext, type ToolDefinition } from './tool.js'
import { z } from 'zod'
import { createTaskResult, legacyTask, negotiatedTasks, TASKS_EXTENSION, TaskRunner, tasksCapabilityRequired, type TaskOptions, type TaskState } from './tasks.js'

/** The protocol era one server instance serves: `legacy` is 2025-11-25 and older (sessions), `modern` 2026-07-28. */
export type Era = 'legacy' | 'modern'

/** Cache hints for 2026-07-28 results, by method (`tools/list`, `resources/read`, ...). */
export type CacheHints = Partial<Record<'tools/list' | 'prompts/list' | 'resources/list' | 'resources/templates/list' | 'resources/read' | 'server/discover', CacheHint>>

/** Everything one MCP server serves; each 2025 session or 2026 request gets an SDK `Server` built from it. */
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
  cacheHints?: CacheHints
  /** Key sealing `requestState` of multi-round 2026 calls; replicas share it (default: random per process). */
  stateKey?: string
  /** Where tasks live and how long (tools declared with `task`). */
  tasks?: TaskOptions
  /** Metrics and spans around each tool call (inactive until the server starts them). */
  telemetry?: CallTelemetry
  /** `network.transport` of the spans: `pipe` for stdio, `tcp` for HTTP. */
  transport?: 'pipe' | 'tcp'
}

const MAX_COMPLETIONS = 100

function assertUnique(kind: string, names: string[]): void {
  const seen = new Set<string>()
  for (const name of names) {
    if (seen.has(name)) throw new TypeError(`Duplicate ${kind} "${name}". Try this: give each ${kind} its own name.`)
    seen.add(name)
  }
}

const PUSH_METHOD = { elicit: 'elicitation/create', sample: 'sampling/createMessage', roots: 'roots/list' } as const

/**
 * How a handler's context reaches the client during one request: through the SDK's per-request context,
 * or (the 2025 stdio fast path) through the session's SDK server, which keeps its log level and matches
 * the answers to its questions either way.
 */
interface RequestChannel {
  /** The request's `_meta`: progress token, trace context. */
  meta: Record<string, unknown>
  sessionId?: string
  /** The caller's verified principal (a server with `auth`). */
  auth?: Principal
  log(level: LogLevel, data: unknown): Promise<void>
  notify(notification: { method: string; params: Record<string, unknown> }): Promise<void>
  send(request: { method: InputMethod; params: Record<string, unknown> }): Promise<Record<string, unknown>>
}

function sdkChannel(ctx: ServerContext): RequestChannel {
  return {
    meta: (ctx.mcpReq._meta ?? {}) as Record<string, unknown>,
    sessionId: ctx.sessionId,
    auth: (ctx.http?.authInfo?.extra as { principal?: Principal } | undefined)?.principal,
    log: (level, data) => ctx.mcpReq.log(level, data),
    notify: (notification) => ctx.mcpReq.notify(notification as never),
    send: (request) => ctx.mcpReq.send(request as never) as Promise<Record<string, unknown>>,
  }
}

/** The context a handler gets: the same functions in both eras, carried over the era's own wire. */
function makeContext(
  channel: RequestChannel,
  clientCapabilities: Record<string, unknown> | undefined,
  ask: Ask | undefined,
  signal: () => AbortSignal,
): ToolContext {
  const meta = channel.meta
  const request = (method: InputMethod, params: Record<string, unknown>, key?: string) =>
    ask ? ask(method, params, key) : channel.send({ method, params })
  return {
    get signal() {
      return signal()
    },
    sessionId: channel.sessionId,
    auth: channel.auth,
    clientCapabilities,
    traceparent: typeof meta.traceparent === 'string' ? meta.traceparent : undefined,
    tracestate: typeof meta.tracestate === 'string' ? meta.tracestate : undefined,
    log: (level, data) => channel.log(level, data),
    async progress(progress, total, message) {
      const progressToken = meta.progressToken
      if (progressToken === undefined) return
      await channel.notify({
        method: 'notifications/progress',
        params: { progressToken, progress, total, message },
      })
    },
    sample: (params, options) => request(PUSH_METHOD.sample, params, options?.key),
    elicit: (params, options) => request(PUSH_METHOD.elicit, params, options?.key),
    listRoots: (options) => request(PUSH_METHOD.roots, {}, options?.key) as never,
  }
}


/** 2025-11-25: a `required` task tool called without `params.task` gets -32601, as that revision says. */
function taskOnly(tool: ToolDefinition): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.MethodNotFound, `Tool "${tool.name}" runs only as a task: call it with params.task.`)
}

/** A task's handler outlives its request: it reports through the task, not the request's stream. */
const DETACHED: RequestChannel = {
  meta: {},
  log: async () => {},
  notify: async () => {},
  send: () => Promise.reject(new Error('A task asks its questions through tasks/update.')),
}

const TaskIdParams = z.looseObject({ taskId: z.string() })

/** Runs a handler with its context: in the request's era on the SDK path, directly on the stdio fast path. */
type InContext = <T>(
  target: { method: string; name: string; args: unknown },
  run: (context: ToolContext) => Promise<T>,
) => Promise<T | InputRequiredResult>

/** Builds SDK servers for a server's tools, resources and prompts, one per 2025 session or 2026 request. */
export function createServerFactory(parts: ServerParts) {
  // A tool's app (its `ui` option) is served as one more resource.
  parts = { ...parts, resources: [...parts.resources, ...appResources(parts.tools)] }
  assertUnique('tool', parts.tools.map((t) => t.name))
  assertUnique('prompt', parts.prompts.map((p) => p.name))
  assertUnique('resource', parts.resources.map((r) => r.uri))
  const tools = new Map(parts.tools.map((t) => [t.name, t]))
  const prompts = new Map(parts.prompts.map((p) => [p.name, p]))
  const fixedResources = parts.resources.filter((r) => !r.isTemplate)
  const templates = parts.resources.filter((r) => r.isTemplate)
  const codec: RoundCodec = createRoundCodec(parts.stateKey)
  const runTool = composePlugins(parts.use, async (call: ToolCall) =>
    toToolResult(await call.tool.handler(call.args, call.context)),
  )
  /** Live long-lived instances (2025 sessions, stdio connections): their era and the resource URIs each subscribed to. */
  const sessions = new Map<Server, { era: Era; uris: Set<string> }>()
  const hasCompletions = parts.prompts.some((p) => p.complete) || templates.some((r) => r.complete)
  const taskRunner = parts.tools.some((t) => t.task) ? new TaskRunner(parts.tasks) : undefined

  function findResource(uri: string) {
    const fixed = fixedResources.find((r) => r.uri === uri)
    if (fixed) return { resource: fixed, variables: {} }
    for (const resource of templates) {
      const variables = matchTemplate(resource.uri, uri)
      if (variables) return { resource, variables }
    }
    return undefined
  }

  /**
   * Runs a handler in the request's era: on 2026 requests questions to the client end the round with
   * `input_required`; on 2025 sessions they are server-to-client requests.
   */
  function inEra<T>(
    server: Server,
    era: Era,
    ctx: ServerContext,
    target: { method: string; name: string; args: unknown },
    run: (context: ToolContext) => Promise<T>,
  ) {
    const channel = sdkChannel(ctx)
    if (era === 'legacy') return run(makeContext(channel, server.getClientCapabilities() as Record<string, unknown> | undefined, undefined, () => ctx.mcpReq.signal))
    return runRound(codec, ctx, target, (ask, signal) => run(makeContext(channel, envelopeCapabilities(ctx), ask, signal)))
  }

  /**
   * Answers one tools/call, whichever path carried it (the SDK's handler or the stdio fast path): an
   * unknown tool is a protocol error, invalid arguments an `isError` result the model can correct, and
   * the rest runs through the plugins under telemetry, a thrown error becoming an `isError` result.
   */
  async function callTool(params: ToolCallParams, info: CallInfo, inContext: InContext) {
    const { name, arguments: args } = params
    const tool = tools.get(name)
    if (!tool) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Unknown tool "${name}". Available: ${[...tools.keys()].join(', ') || 'none'}.`,
      )
    }
    const answer = async () => {
      const parsed = tool.schema.safeParse(args ?? {})
      if (!parsed.success) return errorResult(`Invalid arguments for tool "${tool.name}": ${describeIssues(parsed.error)}`)
      return inContext({ method: 'tools/call', name, args }, async (context) => {
        try {
          return await runTool({ tool, args: parsed.data as Record<string, unknown>, context })
        } catch (error) {
          return errorResult(error)
        }
      })
    }
    return parts.telemetry ? parts.telemetry.run(info, answer) : answer()
  }

  /**
   * A tools/call of a `task` tool, run as a task when the client asked for one: a 2026 client that
   * negotiated the extension (SEP-2663; otherwise `required` gets -32021), or a 2025-11-25 client that sent
   * `params.task` (the experimental `tasks` capability; otherwise `required` gets -32601, as that revision
   * says). Undefined when the call is to be answered in place.
   */
  function callAsTask(server: Server, era: Era, tool: ToolDefinition, params: ToolCallParams & { task?: unknown }, ctx: ServerContext) {
    const capabilities = era === 'modern' ? envelopeCapabilities(ctx) : (server.getClientCapabilities() as Record<string, unknown> | undefined)
    const asked = era === 'modern' ? negotiatedTasks(capabilities) : params.task !== undefined
    if (!taskRunner || !asked) {
      if (tool.task !== 'required') return undefined
      throw era === 'modern' ? tasksCapabilityRequired() : taskOnly(tool)
    }
    return startTask(taskRunner, server, era, tool, params, ctx, capabilities)
  }

  /**
   * Creates the task and runs the handler as it, after `prepare` has run in the call (its questions asked
   * in the request's era). 2026: the handler's questions park the task for tasks/update; 2025: they are
   * asked on the session.
   */
  async function startTask(
    runner: TaskRunner,
    server: Server,
    era: Era,
    tool: ToolDefinition,
    params: ToolCallParams,
    ctx: ServerContext,
    capabilities: Record<string, unknown> | undefined,
  ) {
    const parsed = tool.schema.safeParse(params.arguments ?? {})
    if (!parsed.success) return errorResult(`Invalid arguments for tool "${tool.name}": ${describeIssues(parsed.error)}`)
    const args = parsed.data as Record<string, unknown>
    let prepared: unknown
    if (tool.prepare) {
      const prepare = tool.prepare
      const outcome = await inEra(server, era, ctx, { method: 'tools/call', name: tool.name, args: params.arguments }, async (context) =>
        prepare(args, context),
      )
      if (isInputRequiredResult(outcome)) return outcome
      prepared = outcome
    }
    // A 2025 session hears of each status change (notifications/tasks/status); 2026 clients poll.
    const notifyStatus =
      era === 'legacy'
        ? (state: TaskState) => void server.notification({ method: 'notifications/tasks/status', params: legacyTask(state) } as never).catch(() => {})
        : undefined
    const state = await runner.start((task) => {
      const context =
        era === 'modern'
          ? makeContext(DETACHED, capabilities, task.ask, () => task.signal)
          : makeContext(sessionChannel(server, {}), capabilities, undefined, () => task.signal)
      return runTool({ tool, args, context: { ...context, progress: task.progress, taskId: task.taskId, prepared } })
    }, notifyStatus)
    // The SDK checks a 2025 tools/call result as a CallToolResult (it has no 2025 task runtime): an empty
    // `content` beside `task` passes its check and reads as CreateTaskResult to the client.
    return era === 'modern' ? createTaskResult(state) : { content: [], task: legacyTask(state) }
  }

  /**
   * A 2025 session's own channel: the level its client set, notifications and questions on its server;
   * `related`, the request they belong to (named on the wire, stdio-wire.ts).
   */
  function sessionChannel(server: Server, meta: Record<string, unknown>, related?: string | number): RequestChannel {
    return {
      meta,
      // The level the client set with logging/setLevel is the server's, as on the SDK path (no session id on stdio).
      log: (level, data) => server.sendLoggingMessage(withRelatedRequest({ method: 'notifications/message', params: { level, data } as { level: LogLevel; data: unknown } }, related).params),
      notify: (notification) => server.notification(notification as never),
      send: (request) => server.request(request as never, related === undefined ? undefined : { relatedRequestId: related }) as Promise<Record<string, unknown>>,
    }
  }

  /**
   * A 2025 session's tools/call answered without the SDK's protocol layer (the stdio fast path): the same
   * call as the SDK-registered handler makes; log, progress and questions go through the session's server.
   */
  function callToolOnSession(server: Server, id: string | number, params: ToolCallParams, signal: () => AbortSignal) {
    const meta = params._meta ?? {}
    const channel = sessionChannel(server, meta, id)
    // Calls asking for a task never come this way (their `task` param sends them to the SDK's handler).
    const tool = tools.get(params.name)
    if (tool?.task === 'required') return Promise.reject(taskOnly(tool))
    const info: CallInfo = {
      server: parts.name,
      tool: params.name,
      requestId: id,
      get signal() {
        return signal()
      },
      carriers: [meta as TraceCarrier],
      transport: parts.transport ?? 'pipe',
    }
    const clientCapabilities = server.getClientCapabilities() as Record<string, unknown> | undefined
    return callTool(params, info, (_target, run) => run(makeContext(channel, clientCapabilities, undefined, signal)))
  }

  /** A fresh SDK server for one 2025 session, one 2026 request, or one stdio connection. */
  function build(era: Era, options: { longLived?: boolean } = {}): Server {
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
          ...(taskRunner && era === 'modern' ? { extensions: { [TASKS_EXTENSION]: {} } } : {}),
          ...(taskRunner && era === 'legacy' ? { tasks: { cancel: {}, requests: { tools: { call: {} } } } } : {}),
        },
        instructions: parts.instructions,
        cacheHints: parts.cacheHints,
        requestState: { verify: codec.verify },
        // Questions to a 2025 client are asked in place (ctx.elicit awaits the answer), never by re-entry.
        inputRequired: { legacyShim: false },
      },
    )
    if (options.longLived) {
      sessions.set(server, { era, uris: new Set() })
      const previousOnClose = server.onclose
      server.onclose = () => {
        sessions.delete(server)
        previousOnClose?.()
      }
    }

    server.setRequestHandler('tools/list', () => ({
      tools: [...tools.values()].map((t) => ({
        name: t.name,
        title: t.title,
        description: t.description,
        inputSchema: t.inputSchema,
        annotations: t.annotations,
        _meta: appToolMeta(t),
        // 2025-11-25 clients learn here which tools to call as tasks; 2026 servers decide alone.
        ...(t.task && era === 'legacy' ? { execution: { taskSupport: t.task } } : {}),
      })),
    }))

    server.setRequestHandler('tools/call', async (request, ctx) => {
      const tool = tools.get(request.params.name)
      const task = tool?.task ? await callAsTask(server, era, tool, request.params, ctx) : undefined
      if (task) return task as never
      return callTool(request.params, serverCallInfo(parts.name, request, ctx, parts.transport ?? 'tcp'), (target, run) =>
        inEra(server, era, ctx, target, run),
      ) as never
    })

    if (taskRunner && era === 'modern') {
      const runner = taskRunner
      /** The tasks/* methods answer only clients that negotiated the extension (-32021 otherwise). */
      const gated =
        (run: (taskId: string, ctx: ServerContext) => Promise<Record<string, unknown>>) =>
        (params: { taskId: string }, ctx: ServerContext) => {
          if (!negotiatedTasks(envelopeCapabilities(ctx))) throw tasksCapabilityRequired()
          return run(params.taskId, ctx) as never
        }
      server.setRequestHandler('tasks/get', { params: TaskIdParams }, gated((taskId) => runner.get(taskId)))
      // The SDK takes `inputResponses` off every request's params (the MRTR field) and hands them over here.
      server.setRequestHandler('tasks/update', { params: TaskIdParams }, gated((taskId, ctx) => runner.update(taskId, ctx.mcpReq.inputResponses ?? {})))
      server.setRequestHandler('tasks/cancel', { params: TaskIdParams }, gated((taskId) => runner.cancel(taskId)))
    } else if (taskRunner) {
      const runner = taskRunner
      server.setRequestHandler('tasks/get', { params: TaskIdParams }, (p) => runner.getLegacy(p.taskId) as never)
      server.setRequestHandler('tasks/result', { params: TaskIdParams }, (p) => runner.result(p.taskId) as never)
      server.setRequestHandler('tasks/cancel', { params: TaskIdParams }, (p) => runner.cancelLegacy(p.taskId) as never)
    }

    if (parts.resources.length) {
      server.setRequestHandler('resources/list', () => ({
        resources: fixedResources.map((r) => ({
          uri: r.uri,
          name: r.name,
          title: r.title,
          description: r.description,
          mimeType: r.mimeType,
        })),
      }))
      server.setRequestHandler('resources/templates/list', () => ({
        resourceTemplates: templates.map((r) => ({
          uriTemplate: r.uri,
          name: r.name,
          title: r.title,
          description: r.description,
          mimeType: r.mimeType,
        })),
      }))
      server.setRequestHandler('resources/read', async (request, ctx) => {
        const { uri } = request.params
        const found = findResource(uri)
        if (!found) throw new ResourceNotFoundError(uri, `Resource not found: ${uri}`)
        return inEra(server, era, ctx, { method: 'resources/read', name: uri, args: {} }, async (context) => {
          try {
            const value = await found.resource.handler(uri, found.variables, context)
            return { contents: toResourceContents(uri, value, found.resource.mimeType) }
          } catch (error) {
            if (error instanceof ProtocolError) throw error
            throw new ProtocolError(ProtocolErrorCode.InternalError, `Reading ${uri} failed: ${(error as Error)?.message ?? error}`)
          }
        }) as never
      })
      if (era === 'legacy') {
        server.setRequestHandler('resources/subscribe', (request) => {
          sessions.get(server)?.uris.add(request.params.uri)
          return {}
        })
        server.setRequestHandler('resources/unsubscribe', (request) => {
          sessions.get(server)?.uris.delete(request.params.uri)
          return {}
        })
      }
    }

    if (parts.prompts.length) {
      server.setRequestHandler('prompts/list', () => ({
        prompts: [...prompts.values()].map((p) => ({
          name: p.name,
          title: p.title,
          description: p.description,
          arguments: p.arguments,
        })),
      }))
      server.setRequestHandler('prompts/get', async (request, ctx) => {
        const prompt = prompts.get(request.params.name)
        if (!prompt) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt "${request.params.name}".`)
        const args = request.params.arguments ?? {}
        const missing = prompt.arguments.filter((a) => a.required && args[a.name] === undefined).map((a) => a.name)
        if (missing.length) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `Prompt "${prompt.name}" is missing required argument(s): ${missing.join(', ')}.`,
          )
        }
        return inEra(server, era, ctx, { method: 'prompts/get', name: prompt.name, args }, async (context) =>
          toPromptResult(await prompt.handler(args, context), prompt.description),
        ) as never
      })
    }

    if (hasCompletions) {
      server.setRequestHandler('completion/complete', async (request) => {
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

  return { build, sessions, tools, prompts, callToolOnSession }
}

export type ServerFactory = ReturnType<typeof createServerFactory>
