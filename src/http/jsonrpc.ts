import { INVALID_PARAMS, INVALID_REQUEST } from '../protocol/codes.js'
import { parseJsonBytes } from './long-strings.js'

/**
 * Shape tests for JSON-RPC messages, in place of the SDK's `isJSONRPC*` guards and parse, which run a zod
 * parse of the whole message (result included) and on the hot path cost more per call than the rest of
 * the transport. `isRequest`/`isResponse` tell apart messages already known to be valid; `isPlainMessage`
 * and `plainToolCallParams` recognise the common well-formed case and leave everything else to the SDK.
 */
type Shape = { method?: unknown; id?: unknown; result?: unknown; error?: unknown }

/** A request: a method and an id. */
export function isRequest<T extends object>(message: T): message is T & { method: string; id: string | number } {
  const m = message as Shape
  return typeof m.method === 'string' && m.id !== undefined
}

/** A response: an id with a result or an error, and no method. */
export function isResponse<T extends object>(message: T): message is T & { id: string | number } {
  const m = message as Shape
  return m.method === undefined && m.id !== undefined && (m.result !== undefined || m.error !== undefined)
}

/**
 * Whether a parsed value looks like one JSON-RPC 2.0 message (a request or notification, or a response),
 * for messages read from a peer that the SDK's protocol layer validates again where it uses them.
 */
export function isJsonRpcMessage(value: unknown): boolean {
  const m = value as (Shape & { jsonrpc?: unknown }) | null
  return typeof m === 'object' && m !== null && m.jsonrpc === '2.0' && (typeof m.method === 'string' || (m.id !== undefined && (m.result !== undefined || m.error !== undefined)))
}

/** One line of newline-delimited JSON-RPC (stdio) as a message, or undefined when it is not one. */
export function parseJsonRpcLine(line: string | Buffer): object | undefined {
  try {
    const value: unknown = typeof line === 'string' ? JSON.parse(line) : parseJsonBytes(line)
    return isJsonRpcMessage(value) ? (value as object) : undefined
  } catch {
    return undefined
  }
}

/** A request id the SDK accepts: a string or an integer (any other id gets the SDK's parse error, with id null). */
const isId = (id: unknown) => typeof id === 'string' || Number.isSafeInteger(id)
/** A progress token the SDK accepts: a string or an integer. */
const isProgressToken = (token: unknown) => token === undefined || isId(token)
/** A JSON object (not an array, not null). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * True for the common, plainly valid message a client posts: a request or notification with object params
 * (or none), or a response with an object result or a coded error. Whatever this does not recognise is
 * left to the SDK's full parse, which accepts it or says what is wrong.
 */
export function isPlainMessage(value: unknown): boolean {
  if (!isRecord(value)) return false
  const m = value as Shape & { jsonrpc?: unknown; params?: unknown }
  if (m.jsonrpc !== '2.0') return false
  if (typeof m.method === 'string') return (m.id === undefined || isId(m.id)) && (m.params === undefined || isRecord(m.params))
  if (!isId(m.id)) return false
  if (m.result !== undefined) return m.error === undefined && isRecord(m.result)
  const error = m.error
  return isRecord(error) && typeof error.code === 'number' && typeof error.message === 'string'
}

/** The params of a plain `tools/call`, as both fast paths (runtime stdio, gateway front) take them. */
export interface ToolCallParams {
  name: string
  arguments?: Record<string, unknown>
  _meta?: Record<string, unknown>
}

/** `_meta` keys an SDK lifts out of a request (the 2026 envelope) or gives meaning to (a related task). */
const LIFTED_META_KEY = /^io\.modelcontextprotocol\//

/**
 * The params of a `tools/call` request a fast path may answer itself, or undefined to leave it to the SDK:
 * only what the SDK's own request check accepts unchanged (an id, a string name, an object of arguments,
 * a plain `_meta` with a valid progress token, nothing else). Anything unusual keeps the SDK's exact answer.
 */
export function plainToolCallParams(message: unknown, liftedMeta?: (key: string, value: unknown) => boolean): ToolCallParams | undefined {
  const { method, id, params } = message as { method?: unknown; id?: unknown; params?: unknown }
  if (method !== 'tools/call' || !isId(id)) return undefined
  if (!isRecord(params) || typeof params.name !== 'string') return undefined
  for (const key in params) if (key !== 'name' && key !== 'arguments' && key !== '_meta') return undefined
  if (params.arguments !== undefined && !isRecord(params.arguments)) return undefined
  const meta = params._meta
  if (meta !== undefined) {
    if (!isRecord(meta)) return undefined
    // A 2026 codec lets through the envelope keys it checks itself (`liftedMeta`).
    for (const key in meta) if (LIFTED_META_KEY.test(key) && !liftedMeta?.(key, meta[key])) return undefined
    if (!isProgressToken(meta.progressToken)) return undefined
  }
  return params as unknown as ToolCallParams
}

/** Members a JSON-RPC request may have: the SDK's request check refuses any other. */
const REQUEST_MEMBERS = new Set(['jsonrpc', 'id', 'method', 'params'])
const RELATED_TASK_KEY = 'io.modelcontextprotocol/related-task'

/** What is wrong with a request's envelope, as the SDK's request check (the same in SDK v1 and v2) sees it. */
function envelopeIssue(request: Record<string, unknown>): { code: number; message: string } | undefined {
  for (const key in request) {
    if (!REQUEST_MEMBERS.has(key)) return { code: INVALID_REQUEST, message: `Invalid Request: unexpected member "${key.slice(0, 64)}" (a request has jsonrpc, id, method, params)` }
  }
  const params = request.params
  if (params === undefined) return undefined
  if (!isRecord(params)) return { code: INVALID_PARAMS, message: 'Invalid params: params must be an object' }
  const meta = params._meta
  if (meta === undefined) return undefined
  if (!isRecord(meta)) return { code: INVALID_PARAMS, message: 'Invalid params: _meta must be an object' }
  if (!isProgressToken(meta.progressToken)) return { code: INVALID_PARAMS, message: 'Invalid params: _meta.progressToken must be a string or an integer' }
  const task = meta[RELATED_TASK_KEY]
  if (task !== undefined && !(isRecord(task) && typeof task.taskId === 'string')) {
    return { code: INVALID_PARAMS, message: `Invalid params: _meta["${RELATED_TASK_KEY}"] must be an object with a string taskId` }
  }
  return undefined
}

/**
 * The error answering a request (a method and a valid id) that the SDK's request check would refuse, or
 * undefined when it passes (or is no such request). The SDK drops such a request unanswered (it only reports
 * it to `onerror`), which leaves its client waiting and its session busy: transports answer it before dispatch.
 */
export function refusedRequest(request: { method?: unknown; id?: unknown }): { jsonrpc: '2.0'; id: string | number; error: { code: number; message: string } } | undefined {
  if (typeof request.method !== 'string' || !isId(request.id)) return undefined
  const issue = envelopeIssue(request as Record<string, unknown>)
  return issue && { jsonrpc: '2.0', id: request.id as string | number, error: issue }
}
