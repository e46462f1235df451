// Telemetry of a forwarded tools/call: what the span and metrics record of it, and the trace context sent upstream.
import type { CallInfo, CallScope } from '../../telemetry/calls.js'
import type { TraceCarrier } from '../../telemetry/tracing.js'
import type { Route } from '../names/index.js'
import type { Caller } from '../calls/index.js'

/**
 * What telemetry needs of a forwarded tools/call: the pool and the upstream's name for the tool, and
 * where the client's `traceparent` may be (`_meta` on 2026-07-28 requests and on any client that sets
 * it, else the HTTP headers of the request that carried the call).
 */
export function toolCallInfo(route: Route, params: Record<string, unknown>, caller: Caller): CallInfo {
  return {
    server: route.pool,
    tool: route.name,
    exposedName: params.name as string,
    sessionId: caller.sessionId,
    requestId: caller.requestId,
    signal: caller.cancellation ?? caller.signal,
    carriers: [params._meta as TraceCarrier | undefined, caller.meta as TraceCarrier | undefined, caller.headers],
  }
}

/** The `_meta` keys that carry the gateway span's trace context upstream (none when not tracing). */
export function traceMeta(scope: CallScope): Record<string, unknown> | undefined {
  return scope.propagate ? { ...scope.propagate } : undefined
}
