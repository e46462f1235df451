import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'
import { plainToolCallParams } from '../http/jsonrpc.js'
import { Cancellation } from './cancellation.js'

type Params = Record<string, unknown>

/** What a request handler of the SDK's protocol layer is given, as far as the gateway's front reads it. */
export interface DirectExtra {
  signal: AbortSignal
  /** On the direct path: the call's cancellation, which makes `signal` only when asked (cancellation.ts). */
  cancellation?: Cancellation
  sessionId?: string
  requestId: RequestId
  requestInfo?: { headers?: unknown }
  _meta?: Params
  sendNotification(notification: { method: string; params?: Params }): Promise<void>
  sendRequest(request: { method: string; params?: Params }, resultSchema: unknown, options?: { signal?: AbortSignal }): Promise<unknown>
}

/** The SDK's own way of sending a server-to-client request tied to a client request (its answer comes back to it). */
type RequestSender = (request: { method: string; params?: Params }, resultSchema: unknown, options: { signal?: AbortSignal; relatedRequestId: RequestId }) => Promise<unknown>

/** The JSON-RPC error the SDK's protocol layer would send for a handler that threw `error`. */
function errorResponse(id: RequestId, error: unknown): JSONRPCMessage {
  const e = (error ?? {}) as { code?: unknown; message?: unknown; data?: unknown }
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: Number.isSafeInteger(e.code) ? (e.code as number) : -32603,
      message: typeof e.message === 'string' ? e.message : 'Internal error',
      ...(e.data !== undefined ? { data: e.data } : {}),
    },
  }
}

/**
 * Answers a 2025 session's `tools/call` requests with `handler` directly, in front of the SDK's protocol
 * layer that `transport` is connected to. Calls are the gateway's hot path, and that layer's per-request
 * work (three schema checks of each message, the request and result schemas, its bookkeeping) cost more
 * than routing the call. The handler gets what the SDK would give it, so it is the same one; everything
 * else (and a tools/call that is not plain: plainToolCallParams) still goes to the SDK, which answers as before.
 */
export function answerToolCallsDirectly(
  transport: Transport,
  handler: (params: Params, extra: DirectExtra) => unknown,
  sendRequest: RequestSender,
): void {
  const running = new Map<RequestId, Cancellation>()
  const toSdk = transport.onmessage
  const closed = transport.onclose

  async function answer(id: RequestId, params: Params, info: { requestInfo?: { headers?: unknown } } | undefined) {
    const cancellation = new Cancellation()
    running.set(id, cancellation)
    const extra: DirectExtra = {
      get signal() {
        return cancellation.signal
      },
      cancellation,
      sessionId: transport.sessionId,
      requestId: id,
      requestInfo: info?.requestInfo,
      _meta: params._meta as Params | undefined,
      sendNotification: async (notification) => {
        if (!cancellation.aborted) await transport.send({ jsonrpc: '2.0', ...notification } as JSONRPCMessage, { relatedRequestId: id })
      },
      sendRequest: (r, schema, options) => sendRequest(r, schema, { ...options, relatedRequestId: id }),
    }
    let response: JSONRPCMessage
    try {
      response = { jsonrpc: '2.0', id, result: (await handler(params, extra)) as Params }
    } catch (error) {
      response = errorResponse(id, error)
    } finally {
      if (running.get(id) === cancellation) running.delete(id)
    }
    // A cancelled request gets no answer, as the protocol says.
    if (!cancellation.aborted) await transport.send(response).catch(() => {})
  }

  transport.onmessage = (message, info) => {
    const params = plainToolCallParams(message)
    if (params) return void answer((message as { id: RequestId }).id, params as unknown as Params, info as { requestInfo?: { headers?: unknown } } | undefined)
    const m = message as { method?: unknown; params?: { requestId?: RequestId; reason?: unknown } }
    if (m.method === 'notifications/cancelled' && m.params?.requestId !== undefined) running.get(m.params.requestId)?.abort(m.params.reason)
    toSdk?.(message, info)
  }
  transport.onclose = () => {
    for (const cancellation of running.values()) cancellation.abort(new Error('The session closed'))
    running.clear()
    closed?.()
  }
}
