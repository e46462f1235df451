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

/**
 * Whether a parsed value looks like one JSON-RPC 2.0 message (a request or notification, or a response),
 * for messages read from a peer that the SDK's protocol layer validates again where it uses them.
 */
export function isJsonRpcMessage(value: unknown): boolean {
  const m = value as (Shape & { jsonrpc?: unknown }) | null
  return typeof m === 'object' && m !== null && m.jsonrpc === '2.0' && (typeof m.method === 'string' || (m.id !== undefined && (m.result !== undefined || m.error !== undefined)))
}

const isId = (id: unknown) => typeof id === 'string' || typeof id === 'number'
const isRecord = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * True for the common, plainly valid message a client posts: a request or notification with object params
 * (or none), or a response with an object result or a coded error. Whatever this does not recognise is
 * left to the SDK's full parse, which accepts it or says what is wrong.
 */
export function isPlainMessage(value: unknown): boolean {
  if (!isRecord(value)) return false
  const m = value as Shape & { jsonrpc?: unknown; params?: unknown }
  if (m.jsonrpc !== '2.0') return false
  if (typeof m.method === 'string') return (m.id === undefined || isId(m.id)) && (m.params === undefined || isRecord(m.params))
  if (!isId(m.id)) return false
  if (m.result !== undefined) return m.error === undefined && isRecord(m.result)
  const error = m.error as { code?: unknown; message?: unknown } | undefined
  return isRecord(error) && typeof error!.code === 'number' && typeof error!.message === 'string'
}
