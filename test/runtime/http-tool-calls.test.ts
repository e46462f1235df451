import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const envelope = (capabilities: Record<string, unknown>) => ({
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': capabilities,
})

/**
 * A 2026-07-28 tools/call over Streamable HTTP with plain headers and envelope is answered by the runtime's
 * codec; the same call with one more params member (which the SDK drops and the codec does not take) goes
 * through the SDK's per-request handler. Every test sends both and expects the same status and body.
 */
describe('2026-07-28 over Streamable HTTP: tools/call read by the codec answers exactly as the SDK path does', () => {
  let url: string
  let nextId = 1

  beforeAll(async () => {
    url = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/stdio-calls.ts'], { env: { TRANSPORT: 'http' } })).url
  })
  afterAll(() => killAll())

  async function post(params: Record<string, unknown>, capabilities: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    const id = nextId++
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': params.name as string,
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { ...params, _meta: { ...(params._meta as object), ...envelope(capabilities) } } }),
    })
    const text = await res.text()
    // An SSE response (once the call reports progress) holds its notifications, then the answer in its last data line.
    const events = text.startsWith('{') ? [] : text.split('\n').filter((line) => line.startsWith('data:')).map((line) => JSON.parse(line.slice(5)))
    const { id: _id, ...answer } = events.length ? events.pop() : JSON.parse(text)
    return { status: res.status, type: res.headers.get('content-type'), notifications: events, answer }
  }
  async function onBothPaths(params: Record<string, unknown>, capabilities: Record<string, unknown> = {}) {
    const codec = await post(params, capabilities)
    const sdk = await post({ ...params, via: 'sdk' }, capabilities)
    // The sealed requestState carries its minting time: the rest is the same on both paths.
    const unsealed = (answer: { result?: Record<string, unknown> }) => ({ ...answer, result: answer.result && { ...answer.result, requestState: typeof answer.result.requestState } })
    expect({ ...codec, answer: unsealed(codec.answer) }).toEqual({ ...sdk, answer: unsealed(sdk.answer) })
    return codec
  }

  it('results and errors: text, structured, a throwing tool, bad arguments, a result the schema refuses, an unknown tool', async () => {
    const echoed = await onBothPaths({ name: 'echo', arguments: { text: 'ab', times: 2 } })
    expect(echoed).toEqual({
      status: 200,
      type: 'application/json',
      notifications: [],
      answer: { jsonrpc: '2.0', result: { content: [{ type: 'text', text: 'abab' }], resultType: 'complete', _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'stdio-calls', version: '1.0.0' } } } },
    })
    expect((await onBothPaths({ name: 'list', arguments: {} })).answer.result.structuredContent).toEqual({ items: [1, 2, 3] })
    expect((await onBothPaths({ name: 'fail', arguments: {} })).answer.result.isError).toBe(true)
    expect((await onBothPaths({ name: 'echo', arguments: { text: 5 } })).answer.result.content[0].text).toMatch(/^Invalid arguments for tool "echo"/)
    expect((await onBothPaths({ name: 'malformed', arguments: {} })).answer.error.message).toMatch(/^Invalid tools\/call result: /)
    expect((await onBothPaths({ name: 'nope', arguments: {} })).answer.error.code).toBe(-32602)
  })

  it('a question ends the round with input_required; without the capability the call fails as the SDK says', async () => {
    const asked = await onBothPaths({ name: 'interview', arguments: {} }, { elicitation: {} })
    expect(asked.answer.result.resultType).toBe('input_required')
    const refused = await onBothPaths({ name: 'interview', arguments: {} })
    expect(refused.answer.error.code).toBeTypeOf('number')
  })

  it('a call with a progress token: its progress, then its result, on one SSE stream', async () => {
    const progress = await onBothPaths({ name: 'progress', arguments: { steps: 2 }, _meta: { progressToken: 'p' } })
    expect(progress.type).toBe('text/event-stream')
    expect(progress.notifications.map((n: { method: string; params: { progressToken: string; progress: number } }) => [n.method, n.params.progressToken, n.params.progress])).toEqual([
      ['notifications/progress', 'p', 1],
      ['notifications/progress', 'p', 2],
    ])
    expect(progress.answer.result.content[0].text).toBe('done')
  })

  it('a request with headers out of the plain goes to the SDK, which answers it', async () => {
    const wrongName = await post({ name: 'echo', arguments: { text: 'a' } }, {}, { 'mcp-name': 'list' })
    expect(wrongName.status).toBe(400)
  })
})
