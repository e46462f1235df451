import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'

const REVISION = '2026-07-28'
const envelope = (overrides: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'bad-input-test', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {}, sampling: {}, roots: {} },
  ...overrides,
})

// Hand-built 2026-07-28 requests (no SDK client would send these): each gets the spec's error, and the
// server keeps serving both eras afterwards.
describe('bad input on the 2026-07-28 path', () => {
  let url = ''
  beforeAll(async () => {
    url = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'], { env: { TRANSPORT: 'http' } })).url
  })
  afterAll(async () => {
    await closeClients()
    await killAll()
  })

  async function post(method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) {
    const name = typeof params.name === 'string' ? { 'mcp-name': params.name } : {}
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': REVISION,
        'mcp-method': method,
        ...name,
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }),
    })
    return { status: res.status, body: (await res.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string } } }
  }
  const call = (params: Record<string, unknown>, headers?: Record<string, string>) =>
    post('tools/call', { _meta: envelope(), ...params }, headers)

  it('refuses a header that disagrees with the body (Mcp-Method): 400, -32020', async () => {
    const { status, body } = await call({ name: 'echo', arguments: { text: 'a' } }, { 'mcp-method': 'tools/list' })
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ code: -32020, message: expect.stringContaining('Mcp-Method') })
    const name = await call({ name: 'echo', arguments: { text: 'a' } }, { 'mcp-name': 'add' })
    expect(name.status).toBe(400)
    expect(name.body.error?.code).toBe(-32020)
  })

  it('refuses an unsupported revision: 400, -32022 naming the supported one', async () => {
    const future = envelope({ 'io.modelcontextprotocol/protocolVersion': '2099-01-01' })
    const { status, body } = await post('tools/list', { _meta: future }, { 'mcp-protocol-version': '2099-01-01' })
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ code: -32022, data: { supported: [REVISION], requested: '2099-01-01' } })
  })

  it('refuses an envelope with a required field missing: 400, -32602 naming it', async () => {
    const partial = envelope()
    delete (partial as Record<string, unknown>)['io.modelcontextprotocol/clientCapabilities']
    const { status, body } = await post('tools/list', { _meta: partial })
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ code: -32602, message: expect.stringContaining('clientCapabilities') })
  })

  it('refuses a tampered requestState, and one minted for another call: -32602', async () => {
    const first = await call({ name: 'interview', arguments: {} })
    expect(first.body.result).toMatchObject({ resultType: 'input_required', inputRequests: { 'elicit-1': { method: 'elicitation/create' } } })
    const state = first.body.result!.requestState as string
    const answer = { 'elicit-1': { action: 'accept', content: { name: 'Eve' } } }
    const tampered = await call({ name: 'interview', arguments: {}, requestState: `${state.slice(0, -4)}AAAA`, inputResponses: answer })
    expect(tampered.body.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' })
    const elsewhere = await call({ name: 'echo', arguments: { text: 'x' }, requestState: state })
    expect(elsewhere.body.error).toMatchObject({ code: -32602, message: expect.stringContaining('another call') })
    // The genuine state continues the call: the next question is asked, the first answer carried along.
    const next = await call({ name: 'interview', arguments: {}, requestState: state, inputResponses: answer })
    expect(next.body.result).toMatchObject({ resultType: 'input_required', inputRequests: { 'sample-1': { method: 'sampling/createMessage' } } })
  })

  it('keeps serving both eras afterwards', async () => {
    const ok = await call({ name: 'echo', arguments: { text: 'fine' } })
    expect(ok.body.result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'fine' }] })
    const legacy = await connectClient('http', url)
    expect(textOf(await legacy.callTool({ name: 'echo', arguments: { text: 'still 2025' } }))).toBe('still 2025')
  })
})
