import { isInputRequiredResult, ProtocolErrorCode, SdkError, SdkErrorCode, specTypeSchemas, type Server } from '@modelcontextprotocol/server'
import { isRecord, plainToolCallParams, type ToolCallParams } from '../http/jsonrpc.js'
import { sessionCall, type IncomingCall } from './session.js'
import type { StdioWire } from './stdio-wire.js'

type Message = Parameters<NonNullable<StdioWire['onmessage']>>[0]
type Extra = Parameters<NonNullable<StdioWire['onmessage']>>[1]

/** The one tools/call path of the server factory (session.ts `callTool`). */
export type CallTool = (call: IncomingCall) => Promise<unknown>

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
 * The tools/call result check of the SDK's 2025 wire, through its public spec-type validators: the SDK
 * checks with the same zod schema, and states a failure as the schema's issues (`String(ZodError)`).
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

/**
 * A 2025-11-25 stdio session's codec for `tools/call`: it reads the call off the wire into the runtime's one
 * `IncomingCall` and hands it to the one `callTool` (the SDK's handler hands its calls there too), then
 * writes the answer, its error or nothing (cancelled). The SDK's protocol layer, which parses every message
 * and result with zod and builds a dozen closures per request, costs more than the call on stdio; so this
 * codec is where a stdio session's calls are decoded, answered and cancelled. The session's SDK server keeps
 * everything else (initialize, lists, ping, setLevel, resources, prompts, responses to its own requests)
 * and carries the call's log, progress and questions. A request the SDK would refuse or reshape (an extra
 * params member, a bad `_meta`) goes to the SDK for its exact answer, and from there to the same `callTool`.
 */
export function answerToolCallsOnWire(wire: StdioWire, server: Server, callTool: CallTool): void {
  const sdkOnMessage = wire.onmessage
  const sdkOnClose = wire.onclose
  if (!sdkOnMessage) return
  wire.batchWrites = true
  /** In-flight fast calls by request id; the AbortController is made only when someone asks for the signal or cancels. */
  const inFlight = new Map<string | number, { controller?: AbortController }>()

  function answer(id: string | number, params: ToolCallParams): void {
    const call: { controller?: AbortController } = {}
    inFlight.set(id, call)
    const signal = () => (call.controller ??= new AbortController()).signal
    callTool(sessionCall(server, id, params, signal))
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

  /** The answer for what a call returned: a plain result as it is, any other through the SDK's result check. */
  function responseTo(id: string | number, result: unknown): Message {
    if (isPlainTextResult(result)) return { result, jsonrpc: '2.0', id } as Message
    if (isInputRequiredResult(result)) {
      const message = `Handler for tools/call returned an input-required result, but this request is served on protocol revision ${server.getNegotiatedProtocolVersion()}, which has no input_required vocabulary`
      return errorResponse(id, { code: ProtocolErrorCode.InternalError, message })
    }
    const checked = checkResult(withContent(result))
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
