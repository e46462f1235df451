import { SdkError, SdkErrorCode, type Server } from '@modelcontextprotocol/server'
import { isRecord } from '../http/jsonrpc.js'
import type { IncomingCall } from './session.js'
import type { StdioWire } from './stdio-wire.js'
import { errorResponse, requestCodec, sessionCodec, type CallPath, type Message } from './tool-call-codec.js'

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
  const era = server ? sessionCodec(server) : requestCodec(path, (notification) => wire.send({ jsonrpc: '2.0', ...notification } as Message))
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
