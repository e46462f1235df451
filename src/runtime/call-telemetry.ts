import type { IncomingHttpHeaders } from 'node:http'
import type { ServerContext } from '@modelcontextprotocol/server'
import type { CallInfo } from '../telemetry/calls.js'
import type { TraceCarrier } from '../telemetry/tracing.js'

/** `traceparent`/`tracestate` of the HTTP request that carried a call, when there was one (as the SDK hands it over). */
export function headerCarrier(ctx: ServerContext): TraceCarrier | undefined {
  const headers = (ctx.http?.req as { headers?: { get(name: string): string | null } } | undefined)?.headers
  const traceparent = headers?.get('traceparent')
  return traceparent ? { traceparent, tracestate: headers?.get('tracestate') ?? undefined } : undefined
}

/** The same, from a Node request's headers (a codec reading the call itself). */
export function nodeHeaderCarrier(headers: IncomingHttpHeaders): TraceCarrier | undefined {
  const { traceparent, tracestate } = headers
  return typeof traceparent === 'string' ? { traceparent, tracestate: typeof tracestate === 'string' ? tracestate : undefined } : undefined
}

/** What of one incoming tools/call its telemetry record reads (session.ts's `IncomingCall`). */
interface TracedCall {
  id: string | number
  params: { name: string; _meta?: Record<string, unknown> }
  channel: { meta: Record<string, unknown>; sessionId?: string }
  signal: () => AbortSignal
  headers?: () => TraceCarrier | undefined
}

/**
 * The telemetry record of one tools/call a server answers, from whichever transport: its name and the
 * tool's, and where the caller's `traceparent` may be (the request's `_meta` first, then the HTTP headers
 * that carried it). The signal and the carriers are read only when telemetry looks.
 */
export function callInfo(server: string, call: TracedCall, transport: 'pipe' | 'tcp'): CallInfo {
  return {
    server,
    tool: call.params.name,
    sessionId: call.channel.sessionId,
    requestId: call.id,
    get signal() {
      return call.signal()
    },
    get carriers() {
      return [(call.params._meta ?? call.channel.meta) as TraceCarrier, call.headers?.()]
    },
    transport,
  }
}
