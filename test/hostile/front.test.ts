// Items 2, 6, 7 and 10 of issue 15: what a hostile client can do to the gateway's HTTP front (and the
// runtime's, which shares it). A first client keeps calling while a second one attacks.
import http from 'node:http'
import { connect as netConnect } from 'node:net'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, type Started } from '../helpers/processes.js'
import {
  auth,
  connect,
  initializeBody,
  keepCalling,
  rawRequest,
  startGateway,
  startRawUpstream,
  startUpstream,
  TOKEN,
  type HostileGateway,
} from './harness.js'

const SECRETS = ['UPSTREAM-SECRET-1', 'QUERY-SECRET-2', 'QUERY-SECRET-3', 'USERINFO-SECRET-4']
const ATTACKER_ADDRESS = '127.0.0.2'

let gateway: HostileGateway
let upstream: Started
let first: Client
const clients: Client[] = []
const openStreams: http.ClientRequest[] = []

beforeAll(async () => {
  const [up, raw] = await Promise.all([startUpstream('http', { UPSTREAM_TOKEN: SECRETS[0] }), startRawUpstream()])
  upstream = up
  const rawOrigin = new URL(raw.url).origin
  gateway = await startGateway(
    { maxSessions: 20, maxSessionsPerClient: 10, requestReadTimeout: 1000 },
    [
      {
        id: 'http-1',
        name: 'http',
        connection: { type: 'http', url: `${up.url}?api_key=${SECRETS[1]}`, headers: { authorization: `Bearer ${SECRETS[0]}` } },
      },
      // Answers 500 with a body that quotes its URL: its error must reach /health without the secrets.
      {
        id: 'broken-1',
        name: 'broken',
        connection: { type: 'http', url: `${rawOrigin.replace('//', `//user:${SECRETS[3]}@`)}/broken?api_key=${SECRETS[2]}` },
      },
    ],
  )
  first = await connect(gateway.url)
  clients.push(first)
})

afterAll(async () => {
  for (const req of openStreams) req.destroy()
  await Promise.allSettled(clients.map((c) => c.close()))
  await killAll()
})

async function expectUnharmed(steady: ReturnType<typeof keepCalling>): Promise<void> {
  const { calls, failures } = await steady.stop()
  expect(failures).toEqual([])
  expect(calls).toBeGreaterThanOrEqual(20)
  expect(gateway.alive()).toBe(true)
  expect((await gateway.health()).servers.find((s) => s.id === 'http-1')!.status).toBe('connected')
}

describe('hostile clients on the HTTP front', () => {
  it('2: Host and Origin 127.0.0.1.evil.example are refused by the gateway and by the runtime', async () => {
    const steady = keepCalling(first, ['echo'])
    const targets = [
      { target: gateway.url, auth },
      { target: upstream.url, auth: { authorization: `Bearer ${SECRETS[0]}` } },
    ]
    for (const { target, auth } of targets) {
      const port = new URL(target).port
      for (const host of [`127.0.0.1.evil.example:${port}`, `127.evil.example:${port}`, `127.0.0.1.:${port}x`]) {
        const res = await rawRequest(target, {
          headers: { ...auth, host, origin: `http://${host.split(':')[0]}` },
          body: initializeBody,
        })
        expect(res.status, `${target} with Host ${host}`).toBe(403)
        expect(res.body).toMatch(/is not allowed/)
      }
      const origin = await rawRequest(target, { headers: { ...auth, origin: 'http://127.0.0.1.evil.example' }, body: initializeBody })
      expect(origin.status).toBe(403)
      // Real loopback names still pass.
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `127.1.2.3:${port}`]) {
        const ok = await rawRequest(target, { headers: { ...auth, host }, body: initializeBody })
        expect([host, ok.status]).toEqual([host, 200])
      }
    }
    await expectUnharmed(steady)
  })

  it('6: /health shows only "ok" without the token; with it, no secret appears there or in the log', async () => {
    const steady = keepCalling(first, ['echo'])
    const anonymous = await fetch(new URL('/health', gateway.url))
    expect(anonymous.status).toBe(200)
    expect(await anonymous.json()).toEqual({ status: 'ok' })
    const wrong = await fetch(new URL('/health', gateway.url), { headers: { authorization: 'Bearer nope' } })
    expect(await wrong.json()).toEqual({ status: 'ok' })
    const health = await gateway.health()
    expect(health.servers.map((s) => s.id)).toEqual(['http-1', 'broken-1'])
    const broken = health.servers.find((s) => s.id === 'broken-1')!
    expect(broken.status).toBe('error')
    expect(broken.lastError).toMatch(/HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/broken\?api_key=\*\*\*/)
    const everything = JSON.stringify(health) + gateway.stderr()
    for (const secret of SECRETS) expect(everything).not.toContain(secret)
    await expectUnharmed(steady)
  })

  it('7: 150 abandoned sessions and 30 held-open /sse streams from one address leave room for everyone else', async () => {
    const idle = await connect(gateway.url)
    clients.push(idle)
    expect((await idle.callTool({ name: 'echo', arguments: { text: 'before' } })).isError).toBeFalsy()
    const steady = keepCalling(first, ['echo'])
    const statuses = new Set<number>()
    for (let i = 0; i < 150; i++) {
      const res = await rawRequest(gateway.url, { headers: auth, body: initializeBody, localAddress: ATTACKER_ADDRESS })
      statuses.add(res.status)
      if (res.status !== 200) expect(res.body).toMatch(/Too many sessions.*Try this/)
    }
    for (let i = 0; i < 30; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.request(new URL('/sse', gateway.url), {
          headers: { ...auth, accept: 'text/event-stream' },
          localAddress: ATTACKER_ADDRESS,
        })
        openStreams.push(req)
        req.on('response', (res) => {
          statuses.add(res.statusCode ?? 0)
          res.once('data', () => resolve())
          res.once('end', () => resolve())
        })
        req.on('error', reject)
        req.end()
      })
    }
    expect([...statuses].every((s) => s === 200 || s === 503)).toBe(true)
    const health = await gateway.health()
    expect(health.sessions).toBeLessThanOrEqual(20)
    // The attacker's share (10) went to its own sessions: the idle client's session is still there.
    expect((await idle.callTool({ name: 'echo', arguments: { text: 'after' } })).isError).toBeFalsy()
    const newcomer = await connect(gateway.url)
    clients.push(newcomer)
    expect((await newcomer.callTool({ name: 'echo', arguments: { text: 'new' } })).isError).toBeFalsy()
    await expectUnharmed(steady)
  })

  it('10: "bearer" in any case works, a wrong token does not, and a request body that never ends is cut off', async () => {
    const steady = keepCalling(first, ['echo'])
    const lower = await rawRequest(gateway.url, { headers: { authorization: `bearer ${TOKEN}` }, body: initializeBody })
    expect(lower.status).toBe(200)
    const upper = await rawRequest(gateway.url, { headers: { authorization: `BEARER ${TOKEN}` }, body: initializeBody })
    expect(upper.status).toBe(200)
    const wrong = await rawRequest(gateway.url, { headers: { authorization: `Bearer ${TOKEN}x` }, body: initializeBody })
    expect(wrong.status).toBe(401)
    // Headers promise 1000 bytes; one arrives. The gateway must not wait Node's 300 s for the rest.
    const { port } = new URL(gateway.url)
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(Number(port), '127.0.0.1')
      let received = ''
      const guard = setTimeout(() => {
        socket.destroy()
        reject(new Error('the slow request was still open after 20 s'))
      }, 20_000)
      socket.on('data', (chunk) => (received += String(chunk)))
      socket.on('close', () => {
        clearTimeout(guard)
        resolve(received)
      })
      socket.on('error', () => {})
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
          'Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{',
      )
    })
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
    await expectUnharmed(steady)
  })
})
