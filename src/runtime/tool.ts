import { z } from 'zod'
import { paramsToSchema, toInputSchema, type ArgsOf, type ParamsInput } from './params.js'
import type { Principal } from '../http/principal.js'
import { TOOL_NAME, TOOL_NAME_RULE } from '../names.js'
import type { ToolUi } from './app.js'

/** MCP log levels (RFC 5424), as `notifications/message` uses them. */
export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency'

/** A content block of a tool result. */
export type Content =
  | { type: 'text'; text: string; [key: string]: unknown }
  | { type: 'image' | 'audio'; data: string; mimeType: string; [key: string]: unknown }
  | { type: 'resource_link'; uri: string; name: string; [key: string]: unknown }
  | { type: 'resource'; resource: { uri: string; text?: string; blob?: string; mimeType?: string }; [key: string]: unknown }

/** What a tool call returns on the wire. */
export interface ToolResult {
  content: Content[]
  structuredContent?: Record<string, unknown>
  isError?: boolean
  [key: string]: unknown
}

/** Names an input request, so a 2026 client's answer is matched to it across rounds (default: its order). */
export interface AskOptions {
  key?: string
}

/**
 * The second argument of every handler: the call's signal, its client and ways to talk back. The same
 * functions work for 2025 and 2026 clients: for a 2026 client, `elicit`/`sample`/`listRoots` end the
 * round with an `input_required` result and the handler runs again with the answer, so do side effects
 * after asking.
 */
export interface ToolContext {
  /** Aborted when the client cancels the call or a timeout fires. */
  signal: AbortSignal
  /** The 2025 session, when there is one (2026 requests have none). */
  sessionId?: string
  /** Who is calling, on a server with `auth`: the verified access token's principal (sub, client id, scopes, claims). */
  auth?: Principal
  /** What the client declared it supports (from `initialize`, or the request's envelope for 2026). */
  clientCapabilities?: Record<string, unknown>
  /** W3C trace context the client sent in `_meta`, for tracing through the call. */
  traceparent?: string
  tracestate?: string
  /** Sends an MCP logging notification (dropped below the client's chosen level; 2026: only when the request asked for logs). */
  log(level: LogLevel, data: unknown): Promise<void>
  /** Reports progress; a no-op when the client asked for none. */
  progress(progress: number, total?: number, message?: string): Promise<void>
  /** Asks the client's model for a completion (`sampling/createMessage`). */
  sample(params: Record<string, unknown>, options?: AskOptions): Promise<Record<string, unknown>>
  /** Asks the user for input (`elicitation/create`). */
  elicit(params: Record<string, unknown>, options?: AskOptions): Promise<Record<string, unknown>>
  /** Asks the client for its roots (`roots/list`). */
  listRoots(options?: AskOptions): Promise<{ roots: { uri: string; name?: string }[] }>
  /** Set when the call runs as a task (a client that negotiated tasks calling a `task` tool): its id. */
  taskId?: string
  /** What the tool's `prepare` returned, for a task that gathered input before it started. */
  prepared?: unknown
}

export type ToolHandler<P> = (args: ArgsOf<P>, context: ToolContext) => unknown

/** Options of {@link defineTool}; unknown keys (such as `layer`) are kept as metadata. */
export interface ToolOptions<P extends ParamsInput | undefined> {
  description?: string
  title?: string
  params?: P
  annotations?: Record<string, unknown>
  /** Advertise this JSON Schema as it is (e.g. with `$defs`); arguments then reach the handler unvalidated. */
  inputSchema?: { type: 'object'; [key: string]: unknown }
  /** An MCP App the host shows for this tool (see {@link ToolUi}). */
  ui?: ToolUi
  layer?: number
  /**
   * Run as a task for clients that negotiated tasks (`io.modelcontextprotocol/tasks`): the call returns a
   * task at once and the handler runs on. `optional`: other clients get the result in the call;
   * `required`: other clients get -32021.
   */
  task?: 'optional' | 'required'
  /**
   * With `task`: runs in the call itself before the task is created, its questions (`ctx.elicit`, …) asked
   * in `input_required` rounds; the handler gets what it returns as `ctx.prepared`.
   */
  prepare?: (args: ArgsOf<P>, context: ToolContext) => unknown
  handler: ToolHandler<P>
  [key: string]: unknown
}

/** A tool ready to be served: its schema, its advertised JSON Schema and its handler. */
export interface ToolDefinition {
  kind: 'tool'
  name: string
  description?: string
  title?: string
  schema: z.ZodObject
  inputSchema: { type: 'object'; [key: string]: unknown }
  annotations?: Record<string, unknown>
  task?: 'optional' | 'required'
  prepare?: (args: Record<string, unknown>, context: ToolContext) => unknown
  /** Options this runtime does not interpret (e.g. the seed's `layer`), kept as they were given. */
  meta: Record<string, unknown>
  handler: (args: Record<string, unknown>, context: ToolContext) => unknown
}


/** Checks a tool or prompt name, throwing an error that names it and the rule. */
export function assertName(kind: string, name: string): void {
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
    throw new TypeError(
      `Invalid ${kind} name ${JSON.stringify(name)}. Try this: ${TOOL_NAME_RULE}.`,
    )
  }
}

/**
 * Defines a tool: params become a zod schema and the advertised inputSchema; the handler is typed from them.
 * @example
 * defineTool('search', { params: { query: { type: 'string' } }, handler: async ({ query }) => ({ query }) })
 */
export function defineTool<const P extends ParamsInput | undefined = undefined>(
  name: string,
  options: ToolOptions<P>,
): ToolDefinition {
  assertName('tool', name)
  if (typeof options?.handler !== 'function') {
    throw new TypeError(`Tool "${name}" has no handler. Try this: add handler: async (args) => { ... }.`)
  }
  const { description, title, params, annotations, handler, inputSchema, task, prepare, ...meta } = options
  if (task !== undefined && task !== 'optional' && task !== 'required') {
    throw new TypeError(`Tool "${name}": task must be 'optional' or 'required', not ${JSON.stringify(task)}.`)
  }
  const schema = inputSchema ? z.looseObject({}) : paramsToSchema(params as ParamsInput | undefined, `Tool "${name}"`)
  return {
    kind: 'tool',
    name,
    description,
    title,
    schema,
    inputSchema: inputSchema ?? toInputSchema(schema),
    annotations,
    task,
    prepare: prepare as ToolDefinition['prepare'],
    meta,
    handler: handler as ToolDefinition['handler'],
  }
}

function isToolResult(value: unknown): value is ToolResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as ToolResult).content) &&
    (value as ToolResult).content.every((c) => typeof c === 'object' && c !== null && typeof c.type === 'string')
  )
}

/** Wraps whatever a handler returned as an MCP tool result. */
export function toToolResult(value: unknown): ToolResult {
  if (value === undefined || value === null) return { content: [{ type: 'text', text: '' }] }
  if (typeof value === 'string') return { content: [{ type: 'text', text: value }] }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return { content: [{ type: 'text', text: String(value) }] }
  }
  if (isToolResult(value)) return value
  if (value instanceof Uint8Array) return { content: [{ type: 'text', text: Buffer.from(value).toString('utf8') }] }
  const json = JSON.stringify(value)
  const structuredContent = Array.isArray(value) ? { items: value } : (value as Record<string, unknown>)
  return { content: [{ type: 'text', text: json }], structuredContent }
}

/** The result a client sees for a failed call: `isError` with the message. */
export function errorResult(error: unknown): ToolResult {
  const message = error instanceof Error ? error.message : String(error)
  return { content: [{ type: 'text', text: message }], isError: true }
}
