import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { CallToolRequest, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js'
import type { CallInfo } from '../telemetry/calls.js'
import type { TraceCarrier } from '../telemetry/tracing.js'

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/**
 * What telemetry needs of one tools/call a server answers: its name and the tool's, and where the
 * caller's `traceparent` may be (the request's `_meta` first, then the HTTP headers that carried it).
 */
export function serverCallInfo(server: string, request: CallToolRequest, extra: Extra, transport: 'pipe' | 'tcp'): CallInfo {
  const headers = (extra as { requestInfo?: { headers?: TraceCarrier } }).requestInfo?.headers
  return {
    server,
    tool: request.params.name,
    sessionId: extra.sessionId,
    requestId: extra.requestId,
    signal: extra.signal,
    carriers: [request.params._meta as TraceCarrier | undefined, headers],
    transport,
  }
}
