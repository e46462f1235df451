import { Client, ProtocolError, SdkHttpError, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client'
import { AirmcpError } from '../errors.js'
import { gatewayNotRunning, gatewayUnauthorized } from '../fleet/status.js'
import { PACKAGE_VERSION } from '../workspace/root.js'
import type { ToolCallResult, ToolInputSchema } from './tool-call.js'

/**
 * One `tools/call` through the gateway with the SDK v2 client. When the arguments depend on the tool's
 * schema (`key=value` pairs), the tools are listed first, which also names the tool when it is unknown.
 */
export async function callTool(
  endpoint: URL,
  token: string | undefined,
  tool: string,
  argumentsFor: (schema?: ToolInputSchema) => Record<string, unknown>,
  needsSchema: boolean,
): Promise<ToolCallResult> {
  const client = new Client({ name: 'airmcp-call', version: PACKAGE_VERSION })
  const transport = new StreamableHTTPClientTransport(endpoint, {
    requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined,
  })
  try {
    await client.connect(transport)
    let schema: ToolInputSchema | undefined
    if (needsSchema) schema = (await listAllTools(client, tool)).inputSchema as ToolInputSchema
    return (await client.callTool({ name: tool, arguments: argumentsFor(schema) })) as ToolCallResult
  } catch (error) {
    throw callFailure(error, endpoint, tool)
  } finally {
    await client.close().catch(() => {})
  }
}

async function listAllTools(client: Client, wanted: string): Promise<{ name: string; inputSchema: unknown }> {
  const names: string[] = []
  let cursor: string | undefined
  do {
    const page = await client.listTools(cursor ? { cursor } : {})
    const found = page.tools.find((t) => t.name === wanted)
    if (found) return found
    names.push(...page.tools.map((t) => t.name))
    cursor = page.nextCursor
  } while (cursor)
  const shown = names.slice(0, 20).join(', ') + (names.length > 20 ? `, … (${names.length} in all)` : '')
  throw new AirmcpError('UNKNOWN_TOOL', `The gateway has no tool "${wanted}".`, names.length ? `one of: ${shown}.` : 'add a server: airmcp add server NAME --tool NAME.')
}

/** A failure as a user reads it: the gateway not running or refusing us, else the error as the SDK gives it. */
function callFailure(error: unknown, endpoint: URL, tool: string): unknown {
  if (error instanceof AirmcpError) return error
  const status = error instanceof SdkHttpError ? error.data?.status : undefined
  if (error instanceof UnauthorizedError || status === 401 || status === 403) {
    return gatewayUnauthorized(endpoint.origin, endpoint.pathname)
  }
  const cause = connectionCause(error)
  if (cause) return gatewayNotRunning(endpoint.origin, cause)
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof ProtocolError) {
    return new AirmcpError('TOOL_CALL_FAILED', `Calling "${tool}" failed: ${message}`, 'check the tool name and its arguments (airmcp status --json lists every server\'s tools).')
  }
  return new AirmcpError('TOOL_CALL_FAILED', `Calling "${tool}" at ${endpoint.href} failed: ${message}`, 'check that --url names an airmcp gateway, then try again.')
}

/** The socket-level reason (ECONNREFUSED, …) of a fetch that never reached a server, if that is what happened. */
function connectionCause(error: unknown): string | undefined {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; current = current.cause as typeof current, depth++) {
    if (typeof current.code === 'string' && /^E[A-Z]+/.test(current.code)) return current.code
  }
  return undefined
}
