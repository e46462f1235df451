// SEP-2243 (2026-07-28) on the bridge's HTTP side: the stdio client cannot send `Mcp-Param-*` headers, so
// the bridge, the HTTP client here, mirrors each `tools/call`'s `x-mcp-header` arguments itself, and leaves
// out of `tools/list` the tools whose declarations are invalid, as a 2026 HTTP client must.
import { type JSONRPCMessage, PROTOCOL_VERSION_META_KEY, type RequestId } from '@modelcontextprotocol/client'
import { headerDeclarationFault, paramHeadersFor } from '../http/param-headers.js'

type Request = { id: RequestId; method: string; params?: { name?: unknown; arguments?: unknown; _meta?: Record<string, unknown> } }

/** A 2026-07-28 request: its protocol version rides in its own `_meta`. */
function modernRequest(message: JSONRPCMessage): Request | undefined {
  if (!('method' in message) || !('id' in message)) return undefined
  const request = message as Request
  return typeof request.params?._meta?.[PROTOCOL_VERSION_META_KEY] === 'string' ? request : undefined
}

export class ParamHeaderMirror {
  private readonly listings = new Set<RequestId>()
  private readonly schemas = new Map<string, object>()

  /** The send options of a request on its way to the server: a `tools/call`'s `Mcp-Param-*` headers. */
  outgoing(message: JSONRPCMessage): { headers: Record<string, string> } | undefined {
    const request = modernRequest(message)
    if (request?.method === 'tools/list') this.listings.add(request.id)
    if (request?.method !== 'tools/call' || typeof request.params?.name !== 'string') return undefined
    const headers = paramHeadersFor(this.schemas.get(request.params.name), request.params.arguments)
    return Object.keys(headers).length ? { headers } : undefined
  }

  /** An answer from the server: a 2026 `tools/list` loses its invalid tools; the others' schemas are kept. */
  incoming(message: JSONRPCMessage): void {
    if (!('id' in message) || !('result' in message) || !this.listings.delete(message.id)) return
    const result = message.result as { tools?: { name: string; inputSchema?: object }[] }
    if (!Array.isArray(result.tools)) return
    result.tools = result.tools.filter((tool) => {
      const fault = headerDeclarationFault(tool.inputSchema)
      if (fault) process.stderr.write(`airmcp bridge: left out tool "${tool.name}": ${fault}\n`)
      else if (tool.inputSchema) this.schemas.set(tool.name, tool.inputSchema)
      return !fault
    })
  }
}
