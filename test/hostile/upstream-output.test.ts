// Items 1, 5 and 8 of issue 15: upstreams that answer too much, too slowly to parse, or break mid-answer.
// A first client keeps calling healthy pools while a second client triggers each misbehaviour.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, killProcess, type Started } from '../helpers/processes.js'
import { connect, keepCalling, startGateway, startRawUpstream, startUpstream, stdioUpstream, type HostileGateway } from './harness.js'

let gateway: HostileGateway
let first: Client
let attacker: Client
let legacy: Started
/** Streamable HTTP upstreams that the last tests stop: spoken to in 2026 (listen stream) and pinned to 2025 (GET stream). */
let modern: Started
let sessions: Started
const clients: Client[] = []
const STEADY = ['stdio__echo', 'http__echo']

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text ?? ''
const statusOf = async (id: string) => (await gateway.health()).servers.find((s) => s.id === id)!.status

beforeAll(async () => {
  const [http, raw] = await Promise.all([startUpstream('http'), startRawUpstream()])
  legacy = await startUpstream('sse')
  ;[modern, sessions] = await Promise.all([startUpstream('http'), startUpstream('http')])
  gateway = await startGateway(
    // A long requestTimeout: each failure below must reach its caller at once, not when the deadline passes.
    { requestTimeout: 600_000, reconnectDelay: 1000 },
    [
      stdioUpstream('stdio-1', 'stdio'),
      { id: 'http-1', name: 'http', connection: { type: 'http', url: http.url } },
      { id: 'raw-1', name: 'raw', connection: { type: 'http', url: raw.url } },
      { id: 'legacy-1', name: 'legacy', connection: { type: 'sse', url: new URL(legacy.url).origin } },
      { id: 'modern-1', name: 'modern', connection: { type: 'http', url: modern.url } },
      { id: 'sessions-1', name: 'sessions', connection: { type: 'http', url: sessions.url }, protocol: '2025-11-25' },
    ],
  )
  first = await connect(gateway.url)
  attacker = await connect(gateway.url)
  clients.push(first, attacker)
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await killAll()
})

/** After every attack: the gateway lives, the first client saw no failure, the healthy pools kept their members. */
async function expectUnharmed(steady: ReturnType<typeof keepCalling>, rssBefore: number): Promise<void> {
  const { calls, failures } = await steady.stop()
  expect(failures).toEqual([])
  expect(calls).toBeGreaterThanOrEqual(20)
  expect(gateway.alive()).toBe(true)
  expect(await statusOf('stdio-1')).toBe('connected')
  expect(await statusOf('http-1')).toBe('connected')
  // Generous: the point is that a 20-50 MiB answer is not held (several times over) in memory.
  expect(gateway.rssMiB() - rssBefore).toBeLessThan(150)
}

describe('hostile upstream output', () => {
  it('1: an 11 MiB stdio line fails that call with a clear error; stray 11 MiB stdout is dropped; the gateway lives', async () => {
    const pid = textOf(await attacker.callTool({ name: 'stdio__pid' }))
    const rss = gateway.rssMiB()
    const steady = keepCalling(first, STEADY)
    const big = await attacker.callTool({ name: 'stdio__big', arguments: { mb: 11 } })
    expect(big.isError).toBe(true)
    expect(textOf(big)).toMatch(/stdio-1 sent a message of \d+ bytes, over the \d+-byte limit\. Try this: .*maxResultBytes/)
    expect(textOf(await attacker.callTool({ name: 'stdio__spew', arguments: { mb: 11 } }))).toBe('spewed')
    await expectUnharmed(steady, rss)
    // The child was not restarted: the oversized line was that call's failure, not the connection's.
    expect(textOf(await attacker.callTool({ name: 'stdio__pid' }))).toBe(pid)
  })

  it('5: a 20 MiB SSE answer, a 30 MiB stream without events and a 20 MiB JSON answer are refused by maxResultBytes', async () => {
    const rss = gateway.rssMiB()
    const steady = keepCalling(first, STEADY)
    const huge = await attacker.callTool({ name: 'huge', arguments: { mb: 20 } })
    expect(huge.isError).toBe(true)
    expect(textOf(huge)).toMatch(/larger than the \d+-byte limit\. Try this: .*maxResultBytes/)
    const flood = await attacker.callTool({ name: 'flood', arguments: { mb: 30 } })
    expect(flood.isError).toBe(true)
    expect(textOf(flood)).toMatch(/larger than the \d+-byte limit/)
    const json = await attacker.callTool({ name: 'http__big', arguments: { mb: 20 } })
    expect(json.isError).toBe(true)
    expect(textOf(json)).toMatch(/larger than the \d+-byte limit/)
    await expectUnharmed(steady, rss)
    // An oversized answer is not the connection's fault: the members stay in their pools.
    expect(await statusOf('raw-1')).toBe('connected')
    expect(textOf(await attacker.callTool({ name: 'ok' }))).toBe('ok')
  })

  it('8: a socket cut mid-answer and non-JSON SSE data fail the caller at once and mark the member', async () => {
    const rss = gateway.rssMiB()
    const steady = keepCalling(first, STEADY)
    await expect(attacker.callTool({ name: 'cut' })).rejects.toThrow(/closed the connection in the middle of its answer/)
    expect(await statusOf('raw-1')).toBe('error')
    await expect.poll(() => statusOf('raw-1'), { timeout: 15_000 }).toBe('connected')
    await expect(attacker.callTool({ name: 'garbage' })).rejects.toThrow(/not JSON-RPC/)
    expect(await statusOf('raw-1')).toBe('error')
    await expect.poll(() => statusOf('raw-1'), { timeout: 15_000 }).toBe('connected')
    await expectUnharmed(steady, rss)
  })

  it('8: a legacy SSE upstream that stops leaves its pool at once (not at the next health ping) and comes back', async () => {
    expect(await statusOf('legacy-1')).toBe('connected')
    const port = new URL(legacy.url).port
    const steady = keepCalling(first, STEADY)
    await killProcess(legacy.child, 'SIGTERM')
    // The health ping is 10 minutes away: only the closed stream can have told the gateway.
    await expect.poll(() => statusOf('legacy-1'), { timeout: 10_000 }).toBe('error')
    legacy = await startUpstream('sse', { AIRMCP_PORT: port })
    await expect.poll(() => statusOf('legacy-1'), { timeout: 20_000 }).toBe('connected')
    expect(textOf(await attacker.callTool({ name: 'legacy__echo', arguments: { text: 'back' } }))).toBe('back')
    await expectUnharmed(steady, gateway.rssMiB())
  })

  for (const [id, pool, stream] of [
    ['modern-1', 'modern', 'its 2026 subscriptions/listen stream'],
    ['sessions-1', 'sessions', 'its 2025 session GET stream'],
  ] as const) {
    it(`8: a Streamable HTTP upstream that stops leaves its pool at once (${stream} ends) and comes back`, async () => {
      expect(await statusOf(id)).toBe('connected')
      const started = id === 'modern-1' ? modern : sessions
      const port = new URL(started.url).port
      const steady = keepCalling(first, STEADY)
      await killProcess(started.child, 'SIGTERM')
      await expect.poll(() => statusOf(id), { timeout: 10_000 }).toBe('error')
      const again = await startUpstream('http', { AIRMCP_PORT: port })
      if (id === 'modern-1') modern = again
      else sessions = again
      await expect.poll(() => statusOf(id), { timeout: 20_000 }).toBe('connected')
      expect(textOf(await attacker.callTool({ name: `${pool}__echo`, arguments: { text: 'back' } }))).toBe('back')
      await expectUnharmed(steady, gateway.rssMiB())
    })
  }
})
