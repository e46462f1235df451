// The gateway's 2026-07-28 HTTP codec (src/gateway/modern-http.ts) on the wire, with raw requests: one POST,
// one answer, JSON unless something about the request comes first, then SSE with the answer last; the
// revision's refusals with their HTTP statuses; the same front methods a 2025 session reaches.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Gateway } from 'airmcp/gateway'
import { killAll, TSX_NODE_ARGS } from '../helpers/processes.js'
import { headers2026 } from '../helpers/wire-2026.js'

let gateway: Gateway
let nextId = 1

type Answer = { id?: unknown; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { code: number; message: string } }

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
}

/** One 2026 request with the headers the revision asks for (`headers` overrides them); its status, content type and messages. */
async function post(method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) {
  const id = nextId++
  const name = (params.name ?? params.uri) as string | undefined
  const meta = { ...ENVELOPE, ...(params._meta as object | undefined) }
  const response = await fetch(gateway.url!, {
    method: 'POST',
    headers: { ...headers2026(method, name), ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } }),
  })
  const type = response.headers.get('content-type') ?? ''
  const text = await response.text()
  const messages: Answer[] = type.includes('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)))
    : [JSON.parse(text)]
  return { id, status: response.status, type, messages }
}

beforeAll(async () => {
  gateway = new Gateway({ name: 'modern-codec', port: 0, handleSignals: false, connectTimeout: 30_000 })
  gateway.register({ id: 'sink-1', name: 'sink', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'] } })
  await gateway.start()
  expect(gateway.list()[0].status).toBe('connected')
}, 60_000)

afterAll(async () => {
  await gateway?.stop()
  await killAll()
})

it('answers a call as one JSON body, in the revision’s encoding', async () => {
  const { id, status, type, messages } = await post('tools/call', { name: 'echo', arguments: { text: 'hi' } })
  expect([status, type]).toEqual([200, 'application/json'])
  expect(messages).toEqual([
    {
      jsonrpc: '2.0',
      id,
      result: expect.objectContaining({
        content: [{ type: 'text', text: 'hi' }],
        resultType: 'complete',
        _meta: expect.objectContaining({ 'io.modelcontextprotocol/serverInfo': { name: 'modern-codec', version: '1' } }),
      }),
    },
  ])
})

it("streams a call's progress before its result, on the same response", async () => {
  const { id, type, messages } = await post('tools/call', { name: 'progress', arguments: { steps: 3 }, _meta: { progressToken: 'p' } })
  expect(type).toBe('text/event-stream')
  expect(messages.map((m) => m.method ?? m.id)).toEqual(['notifications/progress', 'notifications/progress', 'notifications/progress', id])
  expect(messages[0].params).toMatchObject({ progressToken: 'p', progress: 1, total: 3 })
})

it('gives lists their cache fields, and a tool a client may not know the same answer as in 2025', async () => {
  const list = await post('tools/list', {})
  expect(list.messages[0].result).toMatchObject({ resultType: 'complete', ttlMs: expect.any(Number), cacheScope: expect.stringMatching(/^(private|public)$/) })
  const unknown = await post('tools/call', { name: 'no_such_tool', arguments: {} })
  expect(unknown.status).toBe(200)
  expect(unknown.messages[0].error).toEqual({ code: -32602, message: 'Unknown tool "no_such_tool".' })
})

it('refuses what the revision removed or does not know with 404, and disagreeing headers with 400', async () => {
  for (const method of ['ping', 'logging/setLevel', 'no/such/method']) {
    const { id, status, messages } = await post(method, {})
    expect([status, messages[0]]).toEqual([404, { jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${method}` } }])
  }
  const missing = await post('tools/list', {}, { 'mcp-method': '' })
  expect([missing.status, missing.messages[0].error?.code]).toEqual([400, -32020])
  const other = await post('tools/call', { name: 'echo', arguments: { text: 'x' } }, { 'mcp-name': 'not-echo' })
  expect([other.status, other.messages[0].error?.code]).toEqual([400, -32020])
})
