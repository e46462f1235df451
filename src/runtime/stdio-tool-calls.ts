import { isInputRequiredResult, ProtocolErrorCode, SdkError, SdkErrorCode, type Server } from '@modelcontextprotocol/server'
import { isRecord, plainToolCallParams, type ToolCallParams } from '../http/jsonrpc.js'
import { RESOURCE_NOT_FOUND } from '../protocol/codes.js'
import type { StdioWire } from './stdio-wire.js'

type Message = Parameters<NonNullable<StdioWire['onmessage']>>[0]
type Extra = Parameters<NonNullable<StdioWire['onmessage']>>[1]

/** Runs one tools/call of a 2025 session: the server factory's `callToolOnSession`. */
export type SessionToolCall = (
  server: Server,
  id: string | number,
  params: ToolCallParams,
  signal: () => AbortSignal,
) => Promise<unknown>

/** The 2025-11-25 wire's tools/call result check, reached through the SDK server (not public API: see below). */
type ResultCheck = (result: unknown) => { ok: true; value: unknown } | { ok: false; message?: string }

/**
 * What the runtime builds from plain values (`toToolResult`, `errorResult`): text blocks, an optional
 * plain-object `structuredContent`, an optional boolean `isError`. The 2025 schema accepts these as
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
 * The SDK's own 2025 result check for tools/call, or undefined when this SDK build does not expose it the
 * way it did when this was written (then every call takes the SDK path). `_wireCodec()` is the protected
 * accessor the SDK's `Server` uses for this very check.
 */
function sdkResultCheck(server: Server): ResultCheck | undefined {
  const codec = (server as unknown as { _wireCodec?: () => { validateResult?: (method: string, raw: unknown) => unknown } })._wireCodec?.()
  if (typeof codec?.validateResult !== 'function') return undefined
  return (result) => codec.validateResult!('tools/call', result) as ReturnType<ResultCheck>
}

/** A thrown error as the SDK answers it: its code when it has one (a 2025 client reads -32002 as -32602), else -32603. */
function errorResponse(id: string | number, thrown: unknown): Message {
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

/**
 * Answers a 2025-11-25 stdio session's `tools/call` requests without the SDK's protocol layer, which parses
 * every message and result with zod and builds a dozen closures per request: on stdio that costs more
 * than the call. The call itself is the one the SDK-registered handler makes (`callToolOnSession`); its
 * log, progress and questions go through the session's SDK server, which also keeps answering everything
 * else (initialize, lists, ping, setLevel, resources, prompts, responses to its own requests). Only well-
 * formed calls after `initialize` take this path; the answers, errors and cancellation are the SDK's.
 */
export function answerToolCallsOnWire(wire: StdioWire, server: Server, callToolOnSession: SessionToolCall): void {
  const checkResult = sdkResultCheck(server)
  const sdkOnMessage = wire.onmessage
  const sdkOnClose = wire.onclose
  if (!checkResult || !sdkOnMessage) return
  wire.batchWrites = true
  /** In-flight fast calls by request id; the AbortController is made only when someone asks for the signal or cancels. */
  const inFlight = new Map<string | number, { controller?: AbortController }>()

  function answer(id: string | number, params: ToolCallParams): void {
    const call: { controller?: AbortController } = {}
    inFlight.set(id, call)
    const signal = () => (call.controller ??= new AbortController()).signal
    callToolOnSession(server, id, params, signal)
      .then((result) => responseTo(id, result), (error) => errorResponse(id, error))
      .then((response) => {
        // A cancelled call gets no answer, as on the SDK path.
        if (!call.controller?.signal.aborted) return wire.send(response)
      })
      .catch((error: unknown) => wire.onerror?.(new Error(`Failed to send response: ${error}`)))
      .finally(() => {
        if (inFlight.get(id) === call) inFlight.delete(id)
      })
  }

  /** The SDK's answer for what a call returned: a plain result as it is, any other through the SDK's own check. */
  function responseTo(id: string | number, result: unknown): Message {
    if (isPlainTextResult(result)) return { result, jsonrpc: '2.0', id } as Message
    if (isInputRequiredResult(result)) {
      const message = `Handler for tools/call returned an input-required result, but this request is served on protocol revision ${server.getNegotiatedProtocolVersion()}, which has no input_required vocabulary`
      return errorResponse(id, { code: ProtocolErrorCode.InternalError, message })
    }
    const checked = checkResult!(withContent(result))
    if (checked.ok) return { result: checked.value, jsonrpc: '2.0', id } as Message
    return errorResponse(id, { code: ProtocolErrorCode.InvalidParams, message: `Invalid tools/call result: ${checked.message}` })
  }

  /** `notifications/cancelled` for a fast call aborts its signal (and no answer is sent), as the SDK does for its own. */
  function cancel(params: unknown): void {
    if (!isRecord(params) || (params.reason !== undefined && typeof params.reason !== 'string')) return
    const call = inFlight.get(params.requestId as string | number)
    if (call) (call.controller ??= new AbortController()).abort(params.reason)
  }

  wire.onmessage = (message: Message, extra?: Extra) => {
    const method = (message as { method?: unknown }).method
    if (method === 'tools/call' && server.getNegotiatedProtocolVersion() !== undefined) {
      const params = plainToolCallParams(message)
      if (params) return answer((message as { id: string | number }).id, params)
    } else if (method === 'notifications/cancelled' && inFlight.size) {
      cancel((message as { params?: unknown }).params)
    }
    sdkOnMessage(message, extra)
  }
  wire.onclose = () => {
    const closed = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed')
    for (const call of inFlight.values()) (call.controller ??= new AbortController()).abort(closed)
    inFlight.clear()
    sdkOnClose?.()
  }
}
