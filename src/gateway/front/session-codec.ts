// The 2025 session codec of the gateway's front: a session's requests decoded into the front's methods (front-methods.ts).
import type { JSONRPCMessage, RequestId, Transport } from '@modelcontextprotocol/server'
import { isRecord, isRequest } from '../../http/jsonrpc.js'
import type { TraceCarrier } from '../../telemetry/tracing.js'
import { type Caller, Cancellation } from '../calls/index.js'
import { jsonRpcErrorOf, passableMeta } from './front-methods.js'

type Params = Record<string, unknown>
type Message = { method: string; params?: Params }

/** What a session knows of one of its requests, for its caller. */
export interface SessionRequest {
  id: RequestId
  params: Params
  cancellation: Cancellation
  sessionId?: string
  headers?: TraceCarrier
  notify(notification: Message): Promise<void>
  /** A server-to-client request about this one (its answer comes back through the SDK's server). */
  request(request: Message, signal?: AbortSignal): Promise<unknown>
}

/** The SDK server's way of sending a request to the client, tied to one of the client's requests. */
export type RequestSender = (request: Message, options: { signal?: AbortSignal; relatedRequestId: RequestId }) => Promise<unknown>

/** The session's answer to a request method, or undefined to leave the message to the SDK's server (its lifecycle). */
export type SessionAnswer = (method: string) => ((request: SessionRequest) => unknown) | undefined

/**
 * Answers a 2025 session's requests for the front's methods, on the transport its SDK server is connected
 * to: the SDK's server keeps the session's lifecycle (initialize, ping, logging levels, subscriptions,
 * the answers to its own requests to the client), and every request routed to an upstream is decoded here,
 * once, into the same call the 2026 codec makes. Its protocol layer's per-request work (schema checks of
 * each message and result) cost more than routing the call.
 */
export function answerSessionRequests(transport: Transport, answerFor: SessionAnswer, sendRequest: RequestSender): void {
  const running = new Map<RequestId, Cancellation>()
  const toSdk = transport.onmessage
  const closed = transport.onclose

  async function answer(id: RequestId, params: Params, run: (request: SessionRequest) => unknown, headers: TraceCarrier | undefined) {
    const cancellation = new Cancellation()
    running.set(id, cancellation)
    const notify = async (notification: Message) => {
      if (!cancellation.aborted) await transport.send({ jsonrpc: '2.0', ...notification }, { relatedRequestId: id })
    }
    let response: JSONRPCMessage
    try {
      const request = (r: Message, signal?: AbortSignal) => sendRequest(r, { signal, relatedRequestId: id })
      const result = await run({ id, params, cancellation, sessionId: transport.sessionId, headers, notify, request })
      response = { jsonrpc: '2.0', id, result: isRecord(result) ? result : {} }
    } catch (error) {
      response = { jsonrpc: '2.0', id, error: jsonRpcErrorOf(error) }
    } finally {
      if (running.get(id) === cancellation) running.delete(id)
    }
    // A cancelled request gets no answer, as the protocol says.
    if (!cancellation.aborted) await transport.send(response).catch(() => {})
  }

  transport.onmessage = (message, extra) => {
    const run = isRequest(message) ? answerFor(message.method) : undefined
    if (run && isRequest(message)) {
      const params = (message as { params?: unknown }).params
      const headers = (extra as { requestInfo?: { headers?: TraceCarrier } } | undefined)?.requestInfo?.headers
      return void answer(message.id, isRecord(params) ? params : {}, run, headers)
    }
    const m = message as { method?: unknown; params?: { requestId?: RequestId; reason?: unknown } }
    if (m.method === 'notifications/cancelled' && m.params?.requestId !== undefined) running.get(m.params.requestId)?.abort(m.params.reason)
    toSdk?.(message, extra)
  }
  transport.onclose = () => {
    for (const cancellation of running.values()) cancellation.abort(new Error('The session closed'))
    running.clear()
    closed?.()
  }
}

/** A session request as the router sees it; `session` adds what the session itself knows (log level, capabilities, who). */
export function sessionCaller(request: SessionRequest, session: Pick<Caller, 'logLevel' | 'clientCapabilities' | 'principal'>): Caller {
  const meta = isRecord(request.params._meta) ? request.params._meta : undefined
  return {
    era: 'legacy',
    ...session,
    get signal() {
      return request.cancellation.signal
    },
    cancellation: request.cancellation,
    sessionId: request.sessionId,
    requestId: request.id,
    headers: request.headers,
    progressToken: meta?.progressToken as string | number | undefined,
    meta: passableMeta(meta),
    notify: request.notify,
    request: request.request,
  }
}
