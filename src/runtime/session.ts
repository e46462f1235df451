import {
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  Server,
  type CacheHint,
  type Implementation,
  type ServerContext,
} from '@modelcontextprotocol/server'
import { createRoundCodec, envelopeCapabilities, runRound, sdkRounds, type Ask, type InputMethod, type RoundCodec, type Rounds } from './input-rounds.js'
import type { CallTelemetry } from '../telemetry/calls.js'
import type { TraceCarrier } from '../telemetry/tracing.js'
import { callInfo, headerCarrier } from './call-telemetry.js'
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
 * or (a 2025 stdio session's own codec) through the session's SDK server, which keeps its log level and
 * matches the answers to its questions either way.
 */
export interface RequestChannel {
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

/** One request as the runtime serves it, whichever transport and era carried it. */
export interface RequestScope {
  era: Era
  /** The 2025 session's SDK server, or the 2026 request's (none when a codec answers a 2026 call alone). */
  server?: Server
  channel: RequestChannel
  /** What the client declared: at `initialize` (2025) or in the request's envelope (2026). */
  capabilities: Record<string, unknown> | undefined
  /** Made on first use: most calls never look. */
  signal: () => AbortSignal
  /** 2026: what the request brings to its round (`requestState`, `inputResponses`). */
  rounds?: Rounds
  /** `traceparent`/`tracestate` of the HTTP request that carried it. */
  headers?: () => TraceCarrier | undefined
}

/**
 * One tools/call, as every transport hands it to `callTool`: the SDK's handler (stdio 2026, SSE, Streamable
 * HTTP in both eras) and a 2025 stdio session's own codec (stdio-tool-calls.ts) build this and nothing else.
 */
export interface IncomingCall extends RequestScope {
  id: string | number
  params: ToolCallParams & { task?: unknown }
}

/** A request the SDK carried: its scope read from the SDK's per-request context. */
function sdkScope(server: Server, era: Era, ctx: ServerContext): RequestScope {
  const rounds = era === 'modern' ? sdkRounds(ctx) : undefined
  return {
    era,
    server,
    channel: sdkChannel(ctx),
    capabilities: rounds ? rounds.capabilities : (server.getClientCapabilities() as Record<string, unknown> | undefined),
    signal: () => ctx.mcpReq.signal,
    rounds,
    headers: () => headerCarrier(ctx),
  }
}

/** A 2025 session's own channel: the level its client set, notifications and questions on its server. */
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
 * A 2026 tools/call read by a codec (stdio, HTTP) that carries no round state, asks for no logs and is no task:
 * its progress goes out on the wire, its questions end the round (`input_required`).
 */
export function requestCall(
  id: string | number,
  params: ToolCallParams,
  capabilities: Record<string, unknown> | undefined,
  signal: () => AbortSignal,
  notify: RequestChannel['notify'],
  auth?: Principal,
): IncomingCall {
  const channel: RequestChannel = {
    meta: params._meta ?? {},
    auth,
    // A 2026 request gets logs only when its envelope asks for a level; a codec takes no request that does.
    log: async () => {},
    notify,
    send: () => Promise.reject(new Error('A 2026 request asks its questions in input_required rounds.')),
  }
  return { era: 'modern', id, params, channel, capabilities, signal, rounds: { state: () => undefined, signal, capabilities } }
}

/** A 2025 session's tools/call read off its wire (stdio): its context goes through the session's server. */
export function sessionCall(server: Server, id: string | number, params: ToolCallParams, signal: () => AbortSignal): IncomingCall {
  return {
    era: 'legacy',
    server,
    id,
    params,
    channel: sessionChannel(server, params._meta ?? {}, id),
    capabilities: server.getClientCapabilities() as Record<string, unknown> | undefined,
    signal,
  }
}

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
  /** Who answers: every 2026 result carries it (`_meta` `io.modelcontextprotocol/serverInfo`). */
  const serverInfo: Implementation = { name: parts.name, version: parts.version, title: parts.title, description: parts.description }

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
  function inEra<T>(scope: RequestScope, target: { method: string; name: string; args: unknown }, run: (context: ToolContext) => Promise<T>) {
    const { channel, capabilities, rounds } = scope
    if (!rounds) return run(makeContext(channel, capabilities, undefined, scope.signal))
    return runRound(codec, rounds, target, (ask, signal) => run(makeContext(channel, capabilities, ask, signal)))
  }

  /**
   * Answers one tools/call, whichever transport and era carried it: an unknown tool is a protocol error, a
   * `task` tool may run as a task, invalid arguments are an `isError` result the model can correct, and the
   * rest runs through the plugins under telemetry, a thrown error becoming an `isError` result.
   */
  async function callTool(call: IncomingCall) {
    const { name, arguments: args } = call.params
    const tool = tools.get(name)
    if (!tool) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Unknown tool "${name}". Available: ${[...tools.keys()].join(', ') || 'none'}.`,
      )
    }
    const task = tool.task ? await callAsTask(tool, call) : undefined
    if (task) return task
    const answer = async () => {
      const parsed = tool.schema.safeParse(args ?? {})
      if (!parsed.success) return errorResult(`Invalid arguments for tool "${tool.name}": ${describeIssues(parsed.error)}`)
      return inEra(call, { method: 'tools/call', name, args }, async (context) => {
        try {
          return await runTool({ tool, args: parsed.data as Record<string, unknown>, context })
        } catch (error) {
          return errorResult(error)
        }
      })
    }
    return parts.telemetry ? parts.telemetry.run(callInfo(parts.name, call, parts.transport ?? 'tcp'), answer) : answer()
  }

  /**
   * A tools/call of a `task` tool, run as a task when the client asked for one: a 2026 client that
   * negotiated the extension (SEP-2663; otherwise `required` gets -32021), or a 2025-11-25 client that sent
   * `params.task` (the experimental `tasks` capability; otherwise `required` gets -32601, as that revision
   * says). Undefined when the call is to be answered in place.
   */
  function callAsTask(tool: ToolDefinition, call: IncomingCall) {
    const asked = call.era === 'modern' ? negotiatedTasks(call.capabilities) : call.params.task !== undefined
    if (!taskRunner || !asked) {
      if (tool.task !== 'required') return undefined
      throw call.era === 'modern' ? tasksCapabilityRequired() : taskOnly(tool)
    }
    return startTask(taskRunner, tool, call)
  }

  /**
   * Creates the task and runs the handler as it, after `prepare` has run in the call (its questions asked
   * in the request's era). 2026: the handler's questions park the task for tasks/update; 2025: they are
   * asked on the session.
   */
  async function startTask(runner: TaskRunner, tool: ToolDefinition, call: IncomingCall) {
    const { capabilities } = call
    // 2025 calls come on a session (its server); 2026 ones never need one here.
    const session = call.era === 'legacy' ? call.server : undefined
    const parsed = tool.schema.safeParse(call.params.arguments ?? {})
    if (!parsed.success) return errorResult(`Invalid arguments for tool "${tool.name}": ${describeIssues(parsed.error)}`)
    const args = parsed.data as Record<string, unknown>
    let prepared: unknown
    if (tool.prepare) {
      const prepare = tool.prepare
      const outcome = await inEra(call, { method: 'tools/call', name: tool.name, args: call.params.arguments }, async (context) => prepare(args, context))
      if (isInputRequiredResult(outcome)) return outcome
      prepared = outcome
    }
    // A 2025 session hears of each status change (notifications/tasks/status); 2026 clients poll or listen (task-listen.ts).
    const notifyStatus = session
      ? (state: TaskState) => void session.notification({ method: 'notifications/tasks/status', params: legacyTask(state) } as never).catch(() => {})
      : undefined
    const state = await runner.start((task) => {
      const context = session
        ? makeContext(sessionChannel(session, {}), capabilities, undefined, () => task.signal)
        : makeContext(DETACHED, capabilities, task.ask, () => task.signal)
      return runTool({ tool, args, context: { ...context, progress: task.progress, taskId: task.taskId, prepared } })
    }, notifyStatus)
    // The SDK checks a 2025 tools/call result as a CallToolResult (it has no 2025 task runtime): an empty
    // `content` beside `task` passes its check and reads as CreateTaskResult to the client.
    return session ? { content: [], task: legacyTask(state) } : createTaskResult(state)
  }

  /** A fresh SDK server for one 2025 session, one 2026 request, or one stdio connection. */
  function build(era: Era, options: { longLived?: boolean } = {}): Server {
    const server = new Server(
      serverInfo,
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

    server.setRequestHandler('tools/call', (request, ctx) =>
      callTool({ ...sdkScope(server, era, ctx), id: ctx.mcpReq.id, params: request.params }) as never,
    )

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
        return inEra(sdkScope(server, era, ctx), { method: 'resources/read', name: uri, args: {} }, async (context) => {
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
        return inEra(sdkScope(server, era, ctx), { method: 'prompts/get', name: prompt.name, args }, async (context) =>
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

  return { build, sessions, tools, prompts, callTool, serverInfo, taskRunner }
}

export type ServerFactory = ReturnType<typeof createServerFactory>
