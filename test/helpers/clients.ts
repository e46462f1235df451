import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'

const open = new Set<Client>()

/**
 * Node 20's undici leaves a listener per POST on a transport's shared abort signal (see src/gateway/upstream.ts):
 * thousands of calls then print a MaxListeners warning per call, which slows the client more than what it measures.
 */
const postWithoutSharedSignal: typeof fetch = (url, init) => fetch(url, init?.method === 'POST' ? { ...init, signal: undefined } : init)

export async function connectClient(
  kind: 'sse' | 'http' | 'stdio',
  target: string | { command: string; args: string[]; env?: Record<string, string>; cwd?: string },
  capabilities: Record<string, unknown> = {},
): Promise<Client> {
  const client = new Client({ name: 'airmcp-test', version: '0.0.0' }, { capabilities })
  const transport =
    kind === 'stdio'
      ? new StdioClientTransport({ ...(target as { command: string; args: string[] }), stderr: 'ignore' })
      : kind === 'sse'
        ? new SSEClientTransport(new URL(target as string), { fetch: postWithoutSharedSignal })
        : new StreamableHTTPClientTransport(new URL(target as string), { fetch: postWithoutSharedSignal })
  await client.connect(transport)
  open.add(client)
  return client
}

export async function closeClients(): Promise<void> {
  await Promise.allSettled([...open].map((c) => c.close()))
  open.clear()
}

/** The text of the first content block of a tool result. */
export function textOf(result: unknown): string {
  const content = (result as { content: { type: string; text?: string }[] }).content
  return content[0]?.text ?? ''
}
