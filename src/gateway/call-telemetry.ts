import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { CallToolRequest, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js'
import type { CallInfo, CallScope } from '../telemetry/calls.js'
import type { TraceCarrier } from '../telemetry/tracing.js'
import type { Route } from './catalog.js'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/**
 * What telemetry needs of a forwarded tools/call: the pool and the upstream's name for the tool, and
 * where the client's `traceparent` may be (`_meta` on 2026-07-28 requests and on any client that sets
 * it, else the HTTP headers of the request that carried the call).
 */
export function toolCallInfo(route: Route, request: CallToolRequest, extra: Extra): CallInfo {
  const headers = (extra as { requestInfo?: { headers?: TraceCarrier } }).requestInfo?.headers
  return {
    server: route.pool,
    tool: route.name,
    exposedName: request.params.name,
    sessionId: extra.sessionId,
    requestId: extra.requestId,
    signal: extra.signal,
    carriers: [request.params._meta as TraceCarrier | undefined, headers],
  }
}

/**
 * The upstream request's params with the gateway span's `traceparent` in `_meta` (stdio, SSE, HTTP and
 * 2026-07-28 upstreams all read it there; HTTP upstreams also get the header). Unchanged when not tracing.
 */
export function withTraceMeta<P extends { _meta?: Record<string, unknown> }>(params: P, scope: CallScope): P {
  if (!scope.propagate) return params
  return { ...params, _meta: { ...params._meta, ...scope.propagate } }
}
