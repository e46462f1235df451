import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  isInputRequiredResult,
  PROTOCOL_VERSION_META_KEY,
  ProtocolErrorCode,
  SERVER_INFO_META_KEY,
  specTypeSchemas,
  type Implementation,
  type JSONRPCMessage,
  type Server,
} from '@modelcontextprotocol/server'
import { isRecord, plainToolCallParams } from '../http/jsonrpc.js'
import { requestCall, sessionCall, type IncomingCall, type RequestChannel } from './session.js'
import type { ToolDefinition } from './tool.js'
import { RESOURCE_NOT_FOUND } from '../protocol/codes.js'

// How a transport's codec reads a tools/call into the runtime's one IncomingCall and writes its answer, per
// era: stdio-tool-calls.ts (both eras) and http-tool-calls.ts (2026 per request) use these.

export type Message = JSONRPCMessage

/** What a codec needs of the server factory (session.ts). */
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
export function errorResponse(id: string | number, thrown: unknown): Message {
  const error = (thrown ?? {}) as { code?: unknown; message?: string; data?: unknown }
  const code = Number.isSafeInteger(error.code) ? (error.code as number) : ProtocolErrorCode.InternalError
  return {
    jsonrpc: '2.0',
    id,
    error: { code: code === RESOURCE_NOT_FOUND ? ProtocolErrorCode.InvalidParams : code, message: error.message ?? 'Internal error', ...(error.data !== undefined && { data: error.data }) },
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
export interface EraCodec {
  read(message: Message, signal: () => AbortSignal): IncomingCall | undefined
  encode(id: string | number, result: unknown): Message
}

/**
 * 2025-11-25 on a session: well-formed calls after `initialize`; log, progress and questions go through the
 * session's SDK server; a result as the 2025 wire carries it.
 */
export function sessionCodec(server: Server): EraCodec {
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
export function requestCodec(path: CallPath, notify: RequestChannel['notify'], auth?: RequestChannel['auth']): EraCodec {
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
      return requestCall((message as { id: string | number }).id, params, capabilities, signal, notify, auth)
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
