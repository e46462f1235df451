import type { ServerContext } from '@modelcontextprotocol/server'
import type { CallInfo } from '../telemetry/calls.js'
import type { TraceCarrier } from '../telemetry/tracing.js'

/** `traceparent`/`tracestate` of the HTTP request that carried a call, when there was one. */
function headerCarrier(ctx: ServerContext): TraceCarrier | undefined {
  const headers = (ctx.http?.req as { headers?: { get(name: string): string | null } } | undefined)?.headers
  const traceparent = headers?.get('traceparent')
  return traceparent ? { traceparent, tracestate: headers?.get('tracestate') ?? undefined } : undefined
}

/**
 * What telemetry needs of one tools/call a server answers: its name and the tool's, and where the
 * caller's `traceparent` may be (the request's `_meta` first, then the HTTP headers that carried it).
 */
export function serverCallInfo(
  server: string,
  request: { params: { name: string; _meta?: Record<string, unknown> } },
  ctx: ServerContext,
  transport: 'pipe' | 'tcp',
): CallInfo {
  return {
    server,
    tool: request.params.name,
    sessionId: ctx.sessionId,
    requestId: ctx.mcpReq.id,
    signal: ctx.mcpReq.signal,
    carriers: [request.params._meta ?? (ctx.mcpReq._meta as TraceCarrier | undefined), headerCarrier(ctx)],
    transport,
  }
}
