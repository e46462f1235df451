// The transport an upstream member is reached on, per connection type (SSE, Streamable HTTP, stdio), and the MCP client the gateway speaks to it with.
import { Client, SSEClientTransport, type Transport } from '@modelcontextprotocol/client'
import { withActiveTraceHeaders } from '../../telemetry/tracing.js'
import { capabilitiesOf, FULL_PROFILE } from './profiles.js'
import { DirectRequestsTransport } from './direct-requests.js'
import { httpStatusFailure, onClosedSocket, redact } from '../errors.js'
import { HttpClientTransport } from './http-client.js'
import type { ToolSchemas } from './http-headers.js'
import { SessionResumingTransport } from './session-resume.js'
import { ChildProcessTransport, resolveChildCwd } from './stdio-child.js'
import type { Registration } from '../types.js'

export const GATEWAY_INFO = { name: 'airmcp-gateway', version: '1' }
/** What the gateway can relay to a client; each request is answered only if that client declared it (Router.clientRequest). */
export const GATEWAY_CAPABILITIES = capabilitiesOf(FULL_PROFILE)

/**
 * fetch for the SSE client: its POSTs carry the transport's long-lived abort signal, on which Node 20's
 * undici leaves one listener per request (thousands under load); a POST is short and needs none. Opening
 * the stream (a GET: nothing runs twice) goes once more when a pooled socket turns out to be closed.
 */
const postWithoutSharedSignal: typeof fetch = async (url, init) => {
  if (init?.method !== 'POST') {
    return fetch(url, init).catch((error: unknown) => {
      if (!onClosedSocket(error) || init?.signal?.aborted) throw error
      return fetch(url, init)
    })
  }
  const response = await fetch(url, { ...init, signal: undefined, headers: withActiveTraceHeaders(init.headers) })
  if (response.ok) return response
  // What a refused POST means is said by type (errors.ts), not in the SDK's words quoting the body.
  await response.body?.cancel().catch(() => {})
  throw httpStatusFailure(response.status, redact(String(url)), response.headers.get('retry-after'))
}

/** The URL an SSE registration connects to: a bare base URL means its `/sse` endpoint. */
export function sseEndpoint(url: string): URL {
  const parsed = new URL(url)
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/sse'
  return parsed
}

/** The gateway's MCP client for one connection (declaring `capabilities`): it probes the server's era within `connectTimeout`. */
export function newClient(connectTimeout: number, capabilities: Record<string, unknown> = GATEWAY_CAPABILITIES): Client {
  return new Client(GATEWAY_INFO, {
    capabilities,
    versionNegotiation: { mode: 'auto', probe: { timeoutMs: connectTimeout } },
  })
}

/** The transport for a registration's connection; `inputSchemaOf` gives the Streamable HTTP client each tool's `Mcp-Param-*` headers. */
/** What carries a protected upstream's tokens on its HTTP transport (upstream-auth/); nothing for the others. */
export type TransportWrap = (transport: Transport) => Transport

export function createTransport(registration: Registration, maxResultBytes: number | undefined, inputSchemaOf: ToolSchemas, withAuth: TransportWrap): Transport {
  const connection = registration.connection
  switch (connection.type) {
    case 'sse':
      return new SSEClientTransport(sseEndpoint(connection.url), {
        requestInit: { headers: connection.headers },
        fetch: postWithoutSharedSignal,
      })
    case 'http':
    case 'streamable-http':
      return new DirectRequestsTransport(withAuth(new HttpClientTransport(new URL(connection.url), connection.headers, maxResultBytes, inputSchemaOf)))
    case 'stdio':
      return new DirectRequestsTransport(
        new ChildProcessTransport({
          label: registration.id,
          command: connection.command === 'node' ? process.execPath : connection.command,
          args: connection.args ?? [],
          env: connection.env,
          cwd: resolveChildCwd(connection.args ?? [], connection.cwd),
          maxLineBytes: maxResultBytes,
        }),
      )
    default:
      throw new Error(
        `Registration "${registration.id}": unknown connection type ${JSON.stringify((connection as { type: unknown }).type)}. ` +
          'Try this: sse, http or stdio.',
      )
  }
}

/**
 * A 2025 Streamable HTTP session on the gateway's own keep-alive client; a restarted upstream forgets its
 * sessions, so a new one is started and the call repeated, unseen by clients.
 */
export function sessionTransport(registration: Registration, maxResultBytes: number | undefined, withAuth: TransportWrap): Transport {
  const connection = registration.connection as { url: string; headers?: Record<string, string> }
  return new DirectRequestsTransport(new SessionResumingTransport(withAuth(new HttpClientTransport(new URL(connection.url), connection.headers, maxResultBytes))))
}
