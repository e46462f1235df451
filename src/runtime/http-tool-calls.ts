import type { IncomingMessage, ServerResponse } from 'node:http'
import { ProtocolErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/server'
import type { ModernHandler } from '../http/host.js'
import { Exchange } from '../http/exchange.js'
import type { KeepsAlive } from '../http/keep-alive.js'
import type { Principal } from '../http/principal.js'
import { nodeHeaderCarrier } from './call-telemetry.js'
import { errorResponse, requestCodec, type CallPath } from './tool-call-codec.js'

const REVISION = '2026-07-28'

/**
 * Whether the headers are the plain ones a 2026 client sends with a tools/call of `name`, so the answer
 * can only be the one JSON response the SDK would send; anything else (another Accept, a mismatch the SDK
 * reports, a missing header) goes to the SDK for its exact answer.
 */
function plainHeaders(req: IncomingMessage, name: string): boolean {
  const h = req.headers
  return (
    h['mcp-protocol-version'] === REVISION &&
    h['mcp-method'] === 'tools/call' &&
    h['mcp-name'] === name &&
    h['mcp-session-id'] === undefined &&
    typeof h['content-type'] === 'string' &&
    h['content-type'].startsWith('application/json') &&
    typeof h.accept === 'string' &&
    h.accept.includes('application/json') &&
    h.accept.includes('text/event-stream')
  )
}

/**
 * A 2026-07-28 Streamable HTTP request's codec for `tools/call`, in front of the SDK's per-request handler
 * (`createMcpHandler`), which builds a server, web streams and zod parses per request: a plain call (plain
 * headers and envelope, no round state, a tool that is no task) is read into the runtime's one
 * `IncomingCall`, answered by the one `callTool` (where the SDK's handler hands its calls too) and written as
 * the one JSON response the SDK would write. Its progress, or a keep-alive tick (`keepAlive`, the host's)
 * that finds it still running, turns the answer into an SSE stream (comments keep a proxy from cutting it),
 * the result its last event. Every other request goes to `sdk`. The call's signal aborts when the client
 * goes before its answer.
 */
export function answerToolCallsOverHttp(path: CallPath, sdk: ModernHandler): ModernHandler & KeepsAlive {
  /** Calls not yet answered, for the keep-alive ticks. */
  const pending = new Set<Exchange>()
  const handle: ModernHandler = (req: IncomingMessage, res: ServerResponse, body: unknown, principal?: unknown) => {
    const name = (body as { method?: unknown; params?: { name?: unknown } } | null)?.params?.name
    if ((body as { method?: unknown } | null)?.method !== 'tools/call' || typeof name !== 'string' || !plainHeaders(req, name)) return sdk(req, res, body, principal)
    let controller: AbortController | undefined
    const signal = () => {
      if (!controller) {
        const made = new AbortController()
        controller = made
        res.once('close', () => {
          if (!res.writableFinished) made.abort(new Error('The client closed the request.'))
        })
      }
      return controller.signal
    }
    // The verified principal rides on the request as the SDK's authInfo (oauth-resource.ts principalAuthenticator).
    const verified = (req as { auth?: { extra?: { principal?: Principal } } }).auth?.extra?.principal
    // Progress goes out on the call's own response, which becomes an SSE stream with the first of it.
    const exchange = new Exchange(res)
    const codec = requestCodec(path, async (notification) => exchange.notify(notification), verified)
    const call = codec.read(body as never, signal)
    if (!call) return sdk(req, res, body, principal)
    call.headers = () => nodeHeaderCarrier(req.headers)
    pending.add(exchange)
    const answer = (message: JSONRPCMessage) => {
      pending.delete(exchange)
      // The SDK's status for an answer in band: 200, or 400 for a missing client capability.
      const code = 'error' in message ? message.error.code : undefined
      exchange.answer(message, code === ProtocolErrorCode.MissingRequiredClientCapability ? 400 : 200)
    }
    return path.callTool(call).then(
      (result) => answer(codec.encode(call.id, result)),
      (error: unknown) => answer(errorResponse(call.id, error)),
    )
  }
  return Object.assign(handle, {
    keepAlive: () => {
      for (const exchange of pending) exchange.keepAlive()
    },
  })
}

