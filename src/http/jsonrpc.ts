/**
 * Shape tests for JSON-RPC messages that are already known to be valid (our own outgoing ones, or incoming
 * ones after `parseJSONRPCMessage`). The SDK's `isJSONRPC*` guards run a zod parse of the whole message,
 * result included, which on the hot path cost more per call than the rest of the transport.
 */
type Shape = { method?: unknown; id?: unknown; result?: unknown; error?: unknown }

/** A request: a method and an id. */
export function isRequest<T extends object>(message: T): message is T & { method: string; id: string | number } {
  const m = message as Shape
  return typeof m.method === 'string' && m.id !== undefined
}

/** A response: an id with a result or an error, and no method. */
export function isResponse<T extends object>(message: T): message is T & { id: string | number } {
  const m = message as Shape
  return m.method === undefined && m.id !== undefined && (m.result !== undefined || m.error !== undefined)
}
