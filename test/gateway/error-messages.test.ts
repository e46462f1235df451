// Issue 22 (one error model): an error through a real gateway reads exactly as written, in both eras, on the
// wire and at an SDK client; no "MCP error <code>:" prefix is added by the gateway (a client SDK may add its own, once).
import { StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import { Gateway } from 'airmcp/gateway'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeEraClients, connectEra, type Era } from '../helpers/era-clients.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { RawStdioSession } from '../helpers/raw-stdio.js'
import { answerOf, RpcError, send } from '../helpers/wire-2026.js'
import { auth as headers, connect, stdioUpstream, TOKEN } from '../hostile/harness.js'

const UNKNOWN = { code: -32602, message: 'Unknown tool "x".' }
const FAILED = { code: -32000, message: 'the tool failed on purpose' }
let gateway: Gateway
let url: string

beforeAll(async () => {
  const raw = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/raw-upstream.ts'])
  gateway = new Gateway({ name: 'error-messages', port: 0, handleSignals: false, authToken: TOKEN, healthCheckInterval: 600_000 })
  gateway.register({ id: 'raw-1', name: 'raw', connection: { type: 'http', url: raw.url } })
  await gateway.start()
  url = gateway.url!
}, 60_000)

afterAll(async () => {
  await closeEraClients()
  await gateway.stop()
  await killAll()
})

/** One JSON-RPC request of a raw 2025-11-25 session (initialize, initialized, then `method`); the error it got. */
async function wire2025(method: string, params: Record<string, unknown>): Promise<unknown> {
  const post = (body: object, session?: string) =>
    fetch(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' } : {}),
      },
      body: JSON.stringify(body),
    })
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'wire', version: '0' } },
  })
  const session = init.headers.get('mcp-session-id')!
  await init.text()
  await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).text()
  const answer = (await answerOf(await post({ jsonrpc: '2.0', id: 1, method, params }, session))) as { error?: unknown }
  await fetch(url, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': session } })
  return answer.error
}

describe('error messages through the gateway', () => {
  for (const era of ['2025-11-25', '2026-07-28'] as Era[]) {
    it(`${era}: an SDK v2 client reads an unknown tool and an upstream's error exactly, with no code prefix`, async () => {
      const client = await connectEra(new ModernTransport(new URL(url), { requestInit: { headers } }), era)
      await expect(client.callTool({ name: 'x' })).rejects.toMatchObject(UNKNOWN)
      await expect(client.callTool({ name: 'fail' })).rejects.toMatchObject(FAILED)
    })
  }

  it('the wire carries the message without a prefix, in both eras', async () => {
    expect(await wire2025('tools/call', { name: 'x' })).toMatchObject(UNKNOWN)
    expect(await wire2025('tools/call', { name: 'fail' })).toMatchObject(FAILED)
    const modern = { url, token: TOKEN, capabilities: {} }
    for (const [name, expected] of [
      ['x', UNKNOWN],
      ['fail', FAILED],
    ] as const) {
      const error = await send(modern, 'tools/call', { name }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RpcError)
      expect({ code: (error as RpcError).code, message: (error as RpcError).message }).toEqual(expected)
    }
  })

  it('the stdio front carries the same message', async () => {
    const config = { options: { stdio: true, healthCheckInterval: 600_000 }, registrations: [stdioUpstream('echo-1', 'echo')] }
    process.env.GATEWAY_CONFIG = JSON.stringify(config)
    const session = await RawStdioSession.open('fixtures/servers/hostile-gateway.ts').finally(() => delete process.env.GATEWAY_CONFIG)
    try {
      expect((await session.request('tools/call', { name: 'x' })).error).toEqual(UNKNOWN)
    } finally {
      await session.close()
    }
  })

  it('an SDK v1 client adds its own prefix once', async () => {
    const client = await connect(url)
    try {
      await expect(client.callTool({ name: 'x' })).rejects.toMatchObject({ code: -32602, message: 'MCP error -32602: Unknown tool "x".' })
      await expect(client.callTool({ name: 'fail' })).rejects.toMatchObject({ code: -32000, message: 'MCP error -32000: the tool failed on purpose' })
    } finally {
      await client.close()
    }
  })
})
