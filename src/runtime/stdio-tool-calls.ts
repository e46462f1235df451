import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  isInputRequiredResult,
  PROTOCOL_VERSION_META_KEY,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SERVER_INFO_META_KEY,
  specTypeSchemas,
  type Implementation,
  type Server,
} from '@modelcontextprotocol/server'
import { isRecord, plainToolCallParams } from '../http/jsonrpc.js'
import { requestCall, sessionCall, type IncomingCall } from './session.js'
import type { ToolDefinition } from './tool.js'
import type { StdioWire } from './stdio-wire.js'

type Message = Parameters<NonNullable<StdioWire['onmessage']>>[0]

/** What a stdio connection's codec needs of the server factory (session.ts). */
export interface CallPath {
  /** The one tools/call path (session.ts `callTool`). */
  callTool(call: IncomingCall): Promise<unknown>
  tools: Map<string, ToolDefinition>
  serverInfo: Implementation
}

/**
 * What the runtime builds from plain values (`toToolResult`, `errorResult`): text blocks, an optional
 * plain-object `structuredContent`, an optional boolean `isError`. The result schema accepts these as
 * they are, so they skip the zod parse; any other result gets the SDK's own check.
 */
function isPlainTextResult(result: unknown): boolean {
  if (!isRecord(result) || !Array.isArray(result.content)) return false
  for (const key in result) if (key !== 'content' && key !== 'structuredContent' && key !== 'isError') return false
  for (const block of result.content as unknown[]) {
    if (!isRecord(block) || block.type !== 'text' || typeof block.text !== 'string' || Object.keys(block).length !== 2) return false
  }
  const structured = result.structuredContent
  if (structured !== undefined) {
    const proto = isRecord(structured) ? Object.getPrototypeOf(structured) : undefined
    if (proto !== Object.prototype && proto !== null) return false
  }
  return result.isError === undefined || typeof result.isError === 'boolean'
}

/**
 * The tools/call result check, through the SDK's public spec-type validators: the SDK's protocol layer checks
 * with the same zod schema, and states a failure as the schema's issues (`String(ZodError)`).
 */
function checkResult(result: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  const checked = specTypeSchemas.CallToolResult['~standard'].validate(result)
  if (!checked.issues) return { ok: true, value: checked.value }
  return { ok: false, message: JSON.stringify(checked.issues, null, 2) }
}

/** A thrown error as the SDK answers it: its code when it has one (a 2025 client reads -32002 as -32602), else -32603. */
function errorResponse(id: string | number, thrown: unknown): Message {
  const error = (thrown ?? {}) as { code?: unknown; message?: string; data?: unknown }
  const code = Number.isSafeInteger(error.code) ? (error.code as number) : ProtocolErrorCode.InternalError
  return {
    jsonrpc: '2.0',
    id,
    error: { code: code === -32002 ? ProtocolErrorCode.InvalidParams : code, message: error.message ?? 'Internal error', ...(error.data !== undefined && { data: error.data }) },
  } as Message
}

/** A result without `content` (and not of another result family) gets an empty one, as the SDK does before checking. */
function withContent(result: unknown): unknown {
  if (!isRecord(result) || 'content' in result || 'task' in result || 'inputRequests' in result || 'requestState' in result) return result
  return { ...result, content: [] }
}

/** The 2026 envelope a codec checks itself (anything else under `io.modelcontextprotocol/` goes to the SDK). */
function isPlainEnvelopeEntry(key: string, value: unknown): boolean {
  if (key === PROTOCOL_VERSION_META_KEY) return value === '2026-07-28'
  if (key === CLIENT_INFO_META_KEY) {
    if (!isRecord(value) || typeof value.name !== 'string' || typeof value.version !== 'string') return false
    for (const field in value) if (!['name', 'version', 'title', 'description'].includes(field) || typeof value[field] !== 'string') return false
    return true
  }
  if (key === CLIENT_CAPABILITIES_META_KEY) {
    if (!isRecord(value)) return false
    for (const capability in value) if (!isRecord(value[capability])) return false
    return true
  }
  return false
}

/** One era's side of the codec: which calls it reads off the wire, and how it writes their answers. */
interface EraCodec {
  read(message: Message, signal: () => AbortSignal): IncomingCall | undefined
  encode(id: string | number, result: unknown): Message
}

/**
 * 2025-11-25 on a session: well-formed calls after `initialize`; log, progress and questions go through the
 * session's SDK server; a result as the 2025 wire carries it.
 */
function sessionCodec(server: Server): EraCodec {
  return {
    read(message, signal) {
      if (server.getNegotiatedProtocolVersion() === undefined) return undefined
      const params = plainToolCallParams(message)
      return params && sessionCall(server, (message as { id: string | number }).id, params, signal)
    },
    encode(id, result) {
      if (isPlainTextResult(result)) return { result, jsonrpc: '2.0', id } as Message
      if (isInputRequiredResult(result)) {
        const message = `Handler for tools/call returned an input-required result, but this request is served on protocol revision ${server.getNegotiatedProtocolVersion()}, which has no input_required vocabulary`
        return errorResponse(id, { code: ProtocolErrorCode.InternalError, message })
      }
      const checked = checkResult(withContent(result))
      if (checked.ok) return { result: checked.value, jsonrpc: '2.0', id } as Message
      return errorResponse(id, { code: ProtocolErrorCode.InvalidParams, message: `Invalid tools/call result: ${checked.message}` })
    },
  }
}

/**
 * 2026-07-28 per request: calls with a plain envelope that carry no round state, ask for no logs, and name a
 * tool that is no task; progress goes on the wire; a result as the SDK encodes it (`resultType`, the
 * server's identity in `_meta`).
 */
function requestCodec(wire: StdioWire, path: CallPath): EraCodec {
  const notify = (notification: { method: string; params: Record<string, unknown> }) => wire.send({ jsonrpc: '2.0', ...notification } as Message)
  const stamp = (result: Record<string, unknown>) => {
    const meta = result._meta
    if (meta !== undefined && (!isRecord(meta) || meta[SERVER_INFO_META_KEY] !== undefined)) return result
    return { ...result, _meta: { ...meta, [SERVER_INFO_META_KEY]: path.serverInfo } }
  }
  return {
    read(message, signal) {
      const params = plainToolCallParams(message, isPlainEnvelopeEntry)
      const meta = params?._meta
      if (!params || !meta || meta[PROTOCOL_VERSION_META_KEY] === undefined) return undefined
      const tool = path.tools.get(params.name)
      if (!tool || tool.task) return undefined
      const capabilities = meta[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined
      return requestCall((message as { id: string | number }).id, params, capabilities, signal, notify)
    },
    encode(id, result) {
      if (isInputRequiredResult(result)) return { result: stamp(result as Record<string, unknown>), jsonrpc: '2.0', id } as Message
      let value = result
      if (!isPlainTextResult(result)) {
        const checked = checkResult(withContent(result))
        if (!checked.ok) return errorResponse(id, { code: ProtocolErrorCode.InvalidParams, message: `Invalid tools/call result: ${checked.message}` })
        value = checked.value
      }
      const complete = value as Record<string, unknown>
      return { result: stamp(complete.resultType === undefined ? { ...complete, resultType: 'complete' } : complete), jsonrpc: '2.0', id } as Message
    },
  }
}

/**
 * A stdio connection's codec for `tools/call`, in either era: it reads a call off the wire into the runtime's
 * one `IncomingCall`, hands it to the one `callTool` (where the SDK's handler hands its calls too), and
 * writes the answer, its error, or nothing (cancelled). The SDK's protocol layer parses every message and
 * result with zod and builds a dozen closures per request, which on stdio costs more than the call: so this
 * is where a stdio connection's calls are decoded, answered and cancelled. The SDK (the 2025 session's
 * server, or `serveStdio` for 2026) keeps everything else (initialize, lists, ping, setLevel, resources,
 * prompts, subscriptions, responses to its own requests). A call the SDK would refuse or reshape (an extra
 * params member, an unusual `_meta`, round state, a task) goes to the SDK for its exact answer, and from
 * there to the same `callTool`.
 */
export function answerToolCallsOnWire(wire: StdioWire, path: CallPath, server?: Server): void {
  const era = server ? sessionCodec(server) : requestCodec(wire, path)
  wire.batchWrites = true
  /** In-flight calls by request id; the AbortController is made only when someone asks for the signal or cancels. */
  const inFlight = new Map<string | number, { controller?: AbortController }>()

  function answer(id: string | number, call: IncomingCall, entry: { controller?: AbortController }): void {
    path
      .callTool(call)
      .then((result) => era.encode(id, result), (error) => errorResponse(id, error))
      .then((response) => {
        // A cancelled call gets no answer, as on the SDK path.
        if (!entry.controller?.signal.aborted) return wire.send(response)
      })
      .catch((error: unknown) => wire.onerror?.(new Error(`Failed to send response: ${error}`)))
      .finally(() => {
        if (inFlight.get(id) === entry) inFlight.delete(id)
      })
  }

  /** `notifications/cancelled` for a call here aborts its signal (and no answer is sent), as the SDK does for its own. */
  function cancel(params: unknown): void {
    if (!isRecord(params) || (params.reason !== undefined && typeof params.reason !== 'string')) return
    const entry = inFlight.get(params.requestId as string | number)
    if (entry) (entry.controller ??= new AbortController()).abort(params.reason)
  }

  wire.codec = {
    take(message) {
      const method = (message as { method?: unknown }).method
      if (method === 'tools/call') {
        const entry: { controller?: AbortController } = {}
        const call = era.read(message, () => (entry.controller ??= new AbortController()).signal)
        if (!call) return false
        inFlight.set(call.id, entry)
        answer(call.id, call, entry)
        return true
      }
      // The SDK sees every cancellation too: it cancels its own calls.
      if (method === 'notifications/cancelled' && inFlight.size) cancel((message as { params?: unknown }).params)
      return false
    },
    close() {
      const closed = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed')
      for (const entry of inFlight.values()) (entry.controller ??= new AbortController()).abort(closed)
      inFlight.clear()
    },
  }
}
