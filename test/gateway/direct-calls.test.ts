// A 2025 session's tools/call is answered by the session codec (src/gateway/session-codec.ts) in front of the SDK's server.
// On the wire, with raw JSON-RPC, it must answer as the SDK did: results, progress on the request's stream,
// batches, an invalid-params error for a call it could not accept, and no answer for a cancelled call.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Gateway } from 'airmcp/gateway'
import { killAll, TSX_NODE_ARGS } from '../helpers/processes.js'

let gateway: Gateway
let session: string

type Message = { id?: unknown; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { code: number; message: string } }

/** One POST on the session; its answer's JSON-RPC messages, whether sent as JSON or as an SSE stream. */
async function post(body: unknown): Promise<{ status: number; messages: Message[] }> {
  const response = await fetch(gateway.url!, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      ...(session ? { 'mcp-session-id': session } : {}),
    },
    body: JSON.stringify(body),
  })
  session ||= response.headers.get('mcp-session-id') ?? ''
  const text = await response.text()
  const parts = (response.headers.get('content-type') ?? '').includes('text/event-stream')
    ? text.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6))
    : text
      ? [text]
      : []
  return { status: response.status, messages: parts.flatMap((part) => JSON.parse(part) as Message | Message[]) }
}

async function callsInFlight(): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gateway.url))).text()
  return Number(/^airmcp_tool_calls_in_flight\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0)
}

const call = (id: number, name: string, args: unknown, meta?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
})

beforeAll(async () => {
  gateway = new Gateway({ name: 'direct-calls', port: 0, handleSignals: false, connectTimeout: 30_000 })
  gateway.register({ id: 'sink-1', name: 'sink', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'] } })
  await gateway.start()
  expect(gateway.list()[0].status).toBe('connected')
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  })
  expect(init.messages[0].result?.protocolVersion).toBe('2025-11-25')
  expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202)
}, 60_000)

afterAll(async () => {
  await gateway?.stop()
  await killAll()
})

it('answers a call with its result, as JSON', async () => {
  const { status, messages } = await post(call(1, 'echo', { text: 'hi' }))
  expect(status).toBe(200)
  expect(messages).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.objectContaining({ content: [{ type: 'text', text: 'hi' }] }) }])
})

it("sends a call's progress on its own stream before the result", async () => {
  const { messages } = await post(call(2, 'progress', { steps: 2 }, { progressToken: 'p-2' }))
  expect(messages.map((m) => m.method ?? m.id)).toEqual(['notifications/progress', 'notifications/progress', 2])
  expect(messages[0].params).toMatchObject({ progressToken: 'p-2', progress: 1, total: 2 })
  expect(messages[2].result?.content).toEqual([{ type: 'text', text: 'done' }])
})

it('answers every call of a batch, each under its own id', async () => {
  const { messages } = await post([call(3, 'echo', { text: 'a' }), call(4, 'echo', { text: 'b' })])
  const byId = new Map(messages.map((m) => [m.id, (m.result?.content as { text: string }[])[0].text]))
  expect(byId).toEqual(new Map([[3, 'a'], [4, 'b']]))
})

it("refuses a tools/call it cannot read, naming the field (and the gateway's answer for unknown tools)", async () => {
  const malformed = await post(call(5, 'echo', ['not', 'an', 'object']))
  // Refused as invalid params, naming the field.
  expect(malformed.messages).toEqual([{ jsonrpc: '2.0', id: 5, error: { code: -32602, message: 'Invalid params: arguments must be an object' } }])
  const unknown = await post(call(6, 'no_such_tool', {}))
  expect(unknown.messages[0].error?.code).toBe(-32602)
  expect(unknown.messages[0].error?.message).toMatch(/no_such_tool/)
})

it('sends no answer for a call the client cancelled, and goes on serving', async () => {
  const slow = post(call(7, 'slow', {}))
  // The call is running once the gateway's own /metrics counts it in flight.
  await expect.poll(() => callsInFlight()).toBe(1)
  expect((await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'changed my mind' } })).status).toBe(202)
  const { messages } = await slow
  expect(messages.filter((m) => m.id === 7)).toEqual([])
  await expect.poll(() => callsInFlight()).toBe(0)
  expect((await post(call(8, 'echo', { text: 'still here' }))).messages[0].result?.content).toEqual([{ type: 'text', text: 'still here' }])
})
