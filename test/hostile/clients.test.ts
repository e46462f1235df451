// Items 9, 10, 11 and 12 (subscriptions) of issue 28: what a client can do to the gateway's front. A first
// client keeps calling (its longest wait between two answers measured) while another attacks.
import http from 'node:http'
import { connect as netConnect, type Socket } from 'node:net'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { RawStdioSession } from '../helpers/raw-stdio.js'
import {
  auth,
  connect,
  keepCalling,
  rawRequest,
  rawSession,
  startGateway,
  startUpstream,
  stdioUpstream,
  TOKEN,
  type HostileGateway,
  type RawResponse,
} from './harness.js'

const ATTACKER_ADDRESS = '127.0.0.3'
const MODERN = '2026-07-28'
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'attacker', version: '0' },
  'io.modelcontextprotocol/clientCapabilities': {},
}

/** `_meta` values the SDK's request check refuses (it then dropped the request without an answer). */
const BAD_META: [string, unknown][] = [
  ['progressToken null', { progressToken: null }],
  ['progressToken object', { progressToken: {} }],
  ['progressToken true', { progressToken: true }],
  ['progressToken 1.5', { progressToken: 1.5 }],
  ['_meta array', []],
  ['_meta string', 'meta'],
  ['related task without taskId', { 'io.modelcontextprotocol/related-task': {} }],
]

let gateway: HostileGateway
let first: Client

beforeAll(async () => {
  // The first client's pool and the one attackers call are apart: what is measured is the gateway.
  const [steady, bulk, kitchen] = await Promise.all([
    startUpstream('http'),
    startUpstream('http'),
    // Resources to subscribe to: users://{id}/profile.
    startListening([...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0' } }),
  ])
  gateway = await startGateway({ maxSessions: 40, maxSessionsPerClient: 10 }, [
    { id: 'steady-1', name: 'steady', connection: { type: 'http', url: steady.url } },
    { id: 'bulk-1', name: 'bulk', connection: { type: 'http', url: bulk.url } },
    { id: 'kitchen-1', name: 'kitchen', connection: { type: 'http', url: kitchen.url } },
  ])
  first = await connect(gateway.url)
})

afterAll(async () => {
  await first?.close()
  await killAll()
})

/**
 * The first client calling `echo` throughout, through {@link keepCalling}, with the longest time between
 * two of its answers: a stalled front shows there even when every call succeeds in the end.
 */
function steadyCalls() {
  const callTool = first.callTool.bind(first)
  let last = performance.now()
  let maxGapMs = 0
  const timed = Object.create(first) as Client
  timed.callTool = async (...args: Parameters<Client['callTool']>) => {
    try {
      return await callTool(...args)
    } finally {
      const now = performance.now()
      maxGapMs = Math.max(maxGapMs, now - last)
      last = now
    }
  }
  const calls = keepCalling(timed, ['steady__echo'])
  return {
    async stop() {
      return { ...(await calls.stop()), maxGapMs }
    },
  }
}

async function expectUnharmed(steady: ReturnType<typeof steadyCalls>, rssBound: number): Promise<void> {
  const { calls, failures, maxGapMs } = await steady.stop()
  expect(failures).toEqual([])
  expect(calls).toBeGreaterThanOrEqual(20)
  expect(maxGapMs).toBeLessThan(1000)
  expect(gateway.alive()).toBe(true)
  const servers = (await gateway.health()).servers
  expect(servers.map((s) => [s.status, s.lastError])).toEqual([
    ['connected', undefined],
    ['connected', undefined],
    ['connected', undefined],
  ])
  expect(gateway.rssMiB()).toBeLessThan(rssBound)
}

/** A response, or a failure naming the request when none comes within 10 s (an unanswered request). */
function answered<T = RawResponse>(request: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ${what}`)), 10_000)
  })
  return Promise.race([request, timeout]).finally(() => clearTimeout(timer))
}

/**
 * A POST on a raw socket that reads the first bytes of its answer and then nothing more (a client that
 * stopped reading): resolves with the socket once the answer has begun, or the gateway closed it.
 */
function stalledPost(url: string, localAddress: string, sessionId: string, body: string): Promise<Socket> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: hostname, port: Number(port), localAddress })
    socket.once('data', () => {
      socket.pause()
      resolve(socket)
    })
    socket.once('close', () => resolve(socket))
    socket.once('error', reject)
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nMcp-Session-Id: ${sessionId}\r\nMcp-Protocol-Version: 2025-06-18\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  })
}

interface SseMessage {
  id?: unknown
  result?: unknown
  error?: { code: number }
}

/**
 * A raw legacy `GET /sse` stream: its announced endpoint, and `answer(id)`, the message answering `id` once
 * it has come on the stream (within 10 s, else a failure naming the id).
 */
function openSseStream(url: string): Promise<{ endpoint: string; answer(id: number): Promise<SseMessage>; close(): void }> {
  const messages: SseMessage[] = []
  const waiting = new Set<() => void>()
  return new Promise((resolve, reject) => {
    const req = http.request(new URL('/sse', url), { headers: { ...auth, accept: 'text/event-stream' } })
    req.on('error', reject)
    req.on('response', (res) => {
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        const events = buffer.split('\n\n')
        buffer = events.pop() ?? ''
        for (const event of events) {
          const data = /^data: (.*)$/m.exec(event)?.[1]
          if (data === undefined) continue
          if (/^event: endpoint$/m.test(event)) {
            resolve({
              endpoint: data,
              answer: (id) =>
                answered(
                  new Promise<SseMessage>((found) => {
                    const look = () => {
                      const message = messages.find((m) => m.id === id)
                      if (!message) return
                      waiting.delete(look)
                      found(message)
                    }
                    waiting.add(look)
                    look()
                  }),
                  `request ${id} on /sse`,
                ),
              close: () => req.destroy(),
            })
          } else {
            messages.push(JSON.parse(data))
            for (const look of [...waiting]) look()
          }
        }
      })
    })
    req.end()
  })
}

/** A 2026 `subscriptions/listen` POST held open from `localAddress`: resolves with its request and status. */
function openListen(url: string, localAddress: string, id: number): Promise<{ req: http.ClientRequest; status: number; body: string }> {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: ENVELOPE } })
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      localAddress,
      headers: {
        ...auth,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'subscriptions/listen',
      },
    })
    req.on('response', (res) => {
      res.setEncoding('utf8')
      // A stream answers with an event at once (the acknowledgement); a refusal is a JSON body.
      res.once('data', (chunk: string) => resolve({ req, status: res.statusCode ?? 0, body: chunk }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Reads the rest of a stalled answer: whether it arrived whole or the gateway cut the connection first. */
function outcome(socket: Socket): Promise<'whole' | 'cut off'> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0)
    const settle = (result: 'whole' | 'cut off') => {
      socket.removeAllListeners('data')
      resolve(result)
    }
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const headEnd = received.indexOf('\r\n\r\n')
      if (headEnd < 0) return
      const length = /content-length: (\d+)/i.exec(received.subarray(0, headEnd).toString())
      const whole = length ? received.length >= headEnd + 4 + Number(length[1]) : received.subarray(-5).toString() === '0\r\n\r\n'
      if (whole) settle('whole')
    })
    socket.once('close', () => settle('cut off'))
    socket.on('error', () => {})
    if (socket.destroyed) settle('cut off')
    socket.resume()
  })
}

/** The JSON-RPC message of a response, plain JSON or the last event of an SSE stream. */
function messageOf(res: RawResponse): { id?: unknown; error?: { code: number; message: string }; result?: unknown } {
  const json = String(res.headers['content-type']).includes('text/event-stream')
    ? res.body
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5))
        .at(-1)!
    : res.body
  return JSON.parse(json)
}

describe('hostile clients of the gateway front', () => {
  it('9: schema-invalid requests get a JSON-RPC error in both eras and pin no session', async () => {
    const rssBefore = gateway.rssMiB()
    const steady = steadyCalls()
    // tools/call goes the gateway's direct path, tools/list the SDK's; each session from one address holds one.
    const sessions = await Promise.all(Array.from({ length: 10 }, () => rawSession(gateway.url, ATTACKER_ADDRESS)))
    let id = 1
    for (const [i, session] of sessions.entries()) {
      for (const [label, meta] of BAD_META) {
        for (const method of ['tools/call', 'tools/list']) {
          const params = method === 'tools/call' ? { name: 'steady__echo', arguments: { text: 'x' }, _meta: meta } : { _meta: meta }
          const what = `${method} with ${label} (session ${i})`
          const res = await answered(session.post(JSON.stringify({ jsonrpc: '2.0', id, method, params })), what)
          expect([what, res.status, messageOf(res).id, messageOf(res).error?.code]).toEqual([what, 200, id, -32602])
          id++
        }
      }
      const extra = await answered(session.post(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list', extra: 1 })), 'an extra member')
      expect(messageOf(extra)).toMatchObject({ id, error: { code: -32600, message: expect.stringMatching(/unexpected member "extra"/) } })
      id++
      const fractionalId = await answered(session.post('{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}'), 'id 1.5')
      expect([fractionalId.status, messageOf(fractionalId)]).toMatchObject([400, { id: null, error: { code: -32600 } }])
    }
    // Nothing was left pending: newcomers from the same address get sessions (their own idle ones make room).
    for (let i = 0; i < 10; i++) {
      const newcomer = await rawSession(gateway.url, ATTACKER_ADDRESS)
      const res = await answered(newcomer.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })), 'a newcomer')
      expect(messageOf(res).result).toBeDefined()
    }
    // The 2026 front answers the same inputs with its own error.
    for (const [label, meta] of BAD_META) {
      const envelope = typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? { ...ENVELOPE, ...meta } : meta
      const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'steady__echo', arguments: { text: 'x' }, _meta: envelope } })
      const headers = { ...auth, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'steady__echo' }
      const res = await answered(rawRequest(gateway.url, { headers, body, localAddress: ATTACKER_ADDRESS }), `2026 tools/call with ${label}`)
      expect([label, res.status, typeof messageOf(res).error?.code]).toEqual([label, 400, 'number'])
    }
    await expectUnharmed(steady, rssBefore + 100)
  })

  it('9: the stdio front answers the same requests with an error too, and serves on', async () => {
    const config = { options: { stdio: true, healthCheckInterval: 600_000 }, registrations: [stdioUpstream('steady-1', 'steady')] }
    process.env.GATEWAY_CONFIG = JSON.stringify(config)
    const session = await RawStdioSession.open('fixtures/servers/hostile-gateway.ts').finally(() => delete process.env.GATEWAY_CONFIG)
    try {
      for (const [label, meta] of BAD_META) {
        const answer = await session.request('tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: meta })
        expect([label, answer.error?.code]).toEqual([label, -32602])
      }
      const ok = await session.request('tools/call', { name: 'echo', arguments: { text: 'ok' } })
      expect(ok.result?.content).toEqual([{ type: 'text', text: 'ok' }])
    } finally {
      await session.close()
    }
  })

  it('9: the legacy /sse front answers the same requests with an error on its stream, and serves on', async () => {
    const stream = await openSseStream(gateway.url)
    try {
      const post = (message: object) => rawRequest(gateway.url, { headers: auth, body: JSON.stringify(message), path: stream.endpoint })
      await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'attacker', version: '0' } } })
      await stream.answer(0)
      await post({ jsonrpc: '2.0', method: 'notifications/initialized' })
      for (const [i, [label, meta]] of BAD_META.entries()) {
        expect((await post({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'steady__echo', arguments: { text: 'x' }, _meta: meta } })).status).toBe(202)
        expect([label, (await stream.answer(i + 1)).error?.code]).toEqual([label, -32602])
      }
      await post({ jsonrpc: '2.0', id: 100, method: 'tools/call', params: { name: 'steady__echo', arguments: { text: 'ok' } } })
      expect((await stream.answer(100)).result).toMatchObject({ content: [{ type: 'text', text: 'ok' }] })
    } finally {
      stream.close()
    }
  })

  it('11: eight clients that stop reading large answers are cut off; what they leave unread stays bounded', async () => {
    const rssBefore = gateway.rssMiB()
    const steady = steadyCalls()
    const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'bulk__big', arguments: { mb: 4 } } })
    const sockets: Socket[] = []
    // Each its own client (address), one after the other: a batch of five 4 MiB answers, then five more one
    // POST each, none read.
    for (let i = 0; i < 8; i++) {
      const address = `127.0.0.${10 + i}`
      const session = await rawSession(gateway.url, address)
      sockets.push(await stalledPost(gateway.url, address, session.id, JSON.stringify([1, 2, 3, 4, 5].map(call))))
      for (let id = 6; id <= 10; id++) sockets.push(await stalledPost(gateway.url, address, session.id, JSON.stringify(call(id))))
    }
    // Unbounded, the gateway held every answer (8 clients x 40 MiB: over +1,000 MiB of RSS); bounded, each
    // client at most 8 MiB (twice the cap) plus one answer, the rest being garbage not yet collected.
    await expectUnharmed(steady, rssBefore + 400)
    const outcomes = await Promise.all(sockets.map(outcome))
    for (const socket of sockets) socket.destroy()
    expect(outcomes.filter((o) => o === 'cut off').length).toBeGreaterThanOrEqual(8 * 2)
  }, 180_000)

  it('10: 1,500 listen streams from one client leave room for a well-behaved 2026 client', async () => {
    const rssBefore = gateway.rssMiB()
    const steady = steadyCalls()
    const opened = []
    // In rounds of 25: this process also runs the first client, whose answers a burst here would delay.
    for (let i = 0; i < 1500; i += 25) {
      opened.push(...(await Promise.all(Array.from({ length: 25 }, (_, j) => openListen(gateway.url, ATTACKER_ADDRESS, i + j)))))
    }
    const streams = opened.filter((o) => o.body.includes('notifications/subscriptions/acknowledged'))
    const refused = opened.filter((o) => o.body.includes('Too many listen streams'))
    expect([streams.length, refused.length]).toEqual([32, 1500 - 32])
    expect(refused[0].body).toMatch(/limit 32\)\. Try this: .*maxListenStreamsPerClient/)

    const modern = new ModernClient({ name: 'well-behaved', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } })
    await modern.connect(new ModernTransport(new URL(gateway.url), { requestInit: { headers: auth } }))
    const subscription = await modern.listen({ toolsListChanged: true })
    expect(subscription.honoredFilter).toMatchObject({ toolsListChanged: true })
    expect((await modern.callTool({ name: 'steady__echo', arguments: { text: 'modern' } })).content).toEqual([{ type: 'text', text: 'modern' }])
    await subscription.close()
    await modern.close()
    // Closed streams free their client's share.
    for (const { req } of opened) req.destroy()
    const again = async () => {
      const { req, body } = await openListen(gateway.url, ATTACKER_ADDRESS, 0)
      req.destroy()
      return body
    }
    await expect.poll(again, { timeout: 10_000 }).toContain('acknowledged')
    await expectUnharmed(steady, rssBefore + 100)
  })

  it('12: one session subscribing to 10,000 resources gets 256 and a clear error for the rest', async () => {
    const rssBefore = gateway.rssMiB()
    const steady = steadyCalls()
    const session = await rawSession(gateway.url, ATTACKER_ADDRESS)
    const subscribe = (id: number) => ({ jsonrpc: '2.0', id, method: 'resources/subscribe', params: { uri: `users://${id}/profile` } })
    const answers: { id: number; result?: unknown; error?: { message: string } }[] = []
    for (let from = 0; from < 10_000; from += 200) {
      const res = await session.post(JSON.stringify(Array.from({ length: 200 }, (_, i) => subscribe(from + i))))
      answers.push(...(JSON.parse(res.body) as typeof answers))
    }
    const refused = answers.filter((a) => a.error)
    expect([answers.length - refused.length, refused.length]).toEqual([256, 10_000 - 256])
    expect(refused[0].error?.message).toMatch(/Too many resource subscriptions in this session \(limit 256\)\. Try this: .*maxSubscriptionsPerSession/)
    // Unsubscribing makes room again.
    const first = answers.find((a) => a.result)!.id
    await session.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'resources/unsubscribe', params: { uri: `users://${first}/profile` } }))
    expect(JSON.parse((await session.post(JSON.stringify(subscribe(20_000)))).body)).toMatchObject({ result: {} })
    // A 2026 listen stream may follow as many, no more.
    const listen = { jsonrpc: '2.0', id: 5, method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: Array.from({ length: 257 }, (_, i) => `users://${i}/profile`) }, _meta: ENVELOPE } }
    const headers = { ...auth, 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' }
    const tooMany = await rawRequest(gateway.url, { headers, body: JSON.stringify(listen), localAddress: ATTACKER_ADDRESS })
    expect(messageOf(tooMany).error?.message).toMatch(/Too many resource subscriptions \(257; limit 256\)/)
    await expectUnharmed(steady, rssBefore + 100)
  })
})
