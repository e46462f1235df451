// The headers a request to a Streamable HTTP upstream carries of its own: the 2026-07-28 envelope its body implies, the caller's headers the gateway never passes.
import { type JSONRPCMessage, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/client'
import { isRequest } from '../../http/jsonrpc.js'
import { encodeHeaderValue, MCP_NAME_FIELD, paramHeadersFor } from '../../http/param-headers.js'

/** Headers the transport sets itself: a forwarded request's own headers never replace them. */
export const OWN_HEADERS = new Set(['authorization', 'content-type', 'accept', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-session-id'])

/**
 * The headers a 2026-07-28 request derives from its own body (`MCP-Protocol-Version`, `Mcp-Method`,
 * `Mcp-Name`, and the `Mcp-Param-*` of the tool's `x-mcp-header` arguments); none for a 2025 message,
 * which carries no protocol version in its `_meta`.
 */
export function envelopeHeaders(message: JSONRPCMessage, inputSchemaOf?: ToolSchemas): Record<string, string> | undefined {
  if (!isRequest(message)) return undefined
  const params = (message as { params?: Record<string, unknown> }).params
  const version = (params?._meta as Record<string, unknown> | undefined)?.[PROTOCOL_VERSION_META_KEY]
  if (typeof version !== 'string') return undefined
  const headers: Record<string, string> = { 'mcp-protocol-version': version, 'mcp-method': message.method }
  const name = params?.[MCP_NAME_FIELD[message.method] ?? '']
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name)
  // The arguments a tool declares with `x-mcp-header`, mirrored as the server will check.
  if (message.method === 'tools/call' && typeof name === 'string') Object.assign(headers, paramHeadersFor(inputSchemaOf?.(name), params?.arguments))
  return headers
}

/** A tool's input schema by name, as the server listed it (for its `Mcp-Param-*` headers). */
export type ToolSchemas = (tool: string) => object | undefined

