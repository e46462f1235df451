import { afterAll, describe, expect, it } from 'vitest'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const FIXTURE = 'fixtures/servers/kitchen-sink.ts'

describe('Streamable HTTP sessions', () => {
  afterAll(async () => {
    await closeClients()
    await killAll()
  })

  it('ends a session on DELETE; its id is then unknown', async () => {
    const { url } = await startListening([...TSX_NODE_ARGS, FIXTURE], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0' } })
    const transport = new StreamableHTTPClientTransport(new URL(url))
    const client = new Client({ name: 't', version: '1' })
    await client.connect(transport)
    const sessionId = transport.sessionId!
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'a' } }))).toBe('a')
    await transport.terminateSession()
    const after = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    })
    expect(after.status).toBe(404)
    const health = await (await fetch(new URL('/health', url))).json()
    expect(health.sessions).toBe(0)
    await client.close()
  })

  it('closes a session its client abandoned, once it has been idle long enough', async () => {
    const { url } = await startListening([...TSX_NODE_ARGS, FIXTURE], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0', SESSION_IDLE_MS: '200' } })
    const initialize = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'gone', version: '1' } } }),
    })
    expect(initialize.status).toBe(200)
    const sessionId = initialize.headers.get('mcp-session-id')!
    // The session's own GET stream keeps it in use, so counting it does not race the 200 ms idle cut-off on a
    // loaded machine (a session cut before the GET arrives is taken up again from its signed id).
    const stream = new AbortController()
    const get = await fetch(url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId }, signal: stream.signal })
    expect(get.status).toBe(200)
    const sessions = async () => (await (await fetch(new URL('/health', url))).json()).sessions
    expect(await sessions()).toBe(1)
    // Its client goes away without DELETE: the session is idle from then on.
    stream.abort()
    await expect.poll(sessions, { timeout: 15_000 }).toBe(0)
  })

  it('serves without sessions in stateless mode', async () => {
    const { url } = await startListening([...TSX_NODE_ARGS, FIXTURE], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0', STATELESS: '1' } })
    const client = await connectClient('http', url)
    expect(textOf(await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }))).toBe('3')
    const health = await (await fetch(new URL('/health', url))).json()
    expect(health.sessions).toBe(0)
  })
})
