// A proxy in front of the gateway gives up on a backend that stays silent longer than its timeout (nginx
// and most ingresses: 60 s). A long tool call or a held-open stream must not look silent: the gateway
// writes SSE comments on them (keepAliveMs). haproxy here gives up after 700 ms of silence.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, TSX_NODE_ARGS } from '../helpers/processes.js'
import { auth, rawSession, startGateway } from '../hostile/harness.js'
import { hasHaproxy, startHaproxy, type Haproxy } from '../replicas/haproxy.js'
import { headers2026 } from '../helpers/wire-2026.js'

const KITCHEN_SINK = { type: 'stdio' as const, command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'], env: { TRANSPORT: 'stdio' } }
const proxies: Haproxy[] = []

/** A gateway (keepAliveMs as given) behind haproxy that cuts a backend silent for 700 ms; the proxy's /mcp URL. */
async function behindProxy(keepAliveMs: number): Promise<string> {
  const gateway = await startGateway({ keepAliveMs }, [{ id: 'kitchen-1', name: 'kitchen', connection: KITCHEN_SINK }])
  const proxy = await startHaproxy([gateway.url], undefined, { serverTimeout: '700ms' })
  proxies.push(proxy)
  return `${proxy.url}/mcp`
}

interface Streamed {
  status: number
  contentType: string
  /** Comments read before the stream was closed by us, or before it ended. */
  comments: number
  ended: boolean
}

/**
 * Sends one request and reads its answer as it streams: resolves once `comments` keep-alive comments have
 * come (then closes it: the call is abandoned), or when the answer ends.
 */
function stream(url: string, options: { method: string; headers: Record<string, string>; body?: string }, comments: number): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method, headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...options.headers } }, (res) => {
      let seen = 0
      const result = () => ({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), comments: seen })
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        seen += chunk.split(': keepalive\n\n').length - 1
        if (seen < comments) return
        resolve({ ...result(), ended: false })
        req.destroy()
      })
      res.on('end', () => resolve({ ...result(), ended: true }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** The `_meta` a 2026 request carries (this file reads answers as streams with node:http, not wire-2026's fetch). */
const ENVELOPE_2026 = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} }
const slowCall = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'slow', arguments: {} } })

describe.skipIf(!hasHaproxy())('keep-alive through a proxy with a short idle timeout', () => {
  let kept: string
  let silent: string
  beforeAll(async () => {
    ;[kept, silent] = await Promise.all([behindProxy(150), behindProxy(0)])
  })
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.stop()))
    await killAll()
  })

  it('a tool call that runs longer than the proxy waits gets comments and stays open', async () => {
    const session = await rawSession(kept)
    const headers = { ...auth, 'mcp-session-id': session.id, 'mcp-protocol-version': '2025-06-18' }
    // Twelve comments, one per 150 ms at best, span more than twice the proxy's 700 ms: without them it would have cut the answer.
    const answer = await stream(kept, { method: 'POST', headers, body: slowCall }, 12)
    expect(answer).toMatchObject({ status: 200, contentType: 'text/event-stream', ended: false })
  })

  it("a session's held-open GET stream gets comments and stays open", async () => {
    const session = await rawSession(kept)
    const headers = { ...auth, 'mcp-session-id': session.id, 'mcp-protocol-version': '2025-06-18' }
    const answer = await stream(kept, { method: 'GET', headers }, 12)
    expect(answer).toMatchObject({ status: 200, contentType: 'text/event-stream', ended: false })
  })

  it('a 2026-07-28 tool call that runs longer than the proxy waits turns into a stream with comments', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'slow', arguments: {}, _meta: ENVELOPE_2026 } })
    const answer = await stream(kept, { method: 'POST', headers: { ...auth, ...headers2026('tools/call', 'slow') }, body }, 12)
    expect(answer).toMatchObject({ status: 200, contentType: 'text/event-stream', ended: false })
  })

  it('a 2026-07-28 listen stream, quiet for as long as nothing changes, gets comments and stays open', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: ENVELOPE_2026 } })
    const answer = await stream(kept, { method: 'POST', headers: { ...auth, ...headers2026('subscriptions/listen', undefined) }, body }, 12)
    expect(answer).toMatchObject({ status: 200, contentType: 'text/event-stream', ended: false })
  })

  it('without them (keepAliveMs: 0) the proxy cuts the same call', async () => {
    const session = await rawSession(silent)
    const headers = { ...auth, 'mcp-session-id': session.id, 'mcp-protocol-version': '2025-06-18' }
    const answer = await stream(silent, { method: 'POST', headers, body: slowCall }, 1)
    expect(answer).toMatchObject({ status: 504, comments: 0, ended: true })
  })
})
