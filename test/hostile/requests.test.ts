// Items 3 and 4 of issue 15: requests that cannot be forwarded, and a batch that would flood an upstream.
// A first client keeps calling a two-member pool while a second client attacks through raw HTTP.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll } from '../helpers/processes.js'
import { connect, keepCalling, rawSession, startGateway, startRawUpstream, startUpstream, stdioUpstream, type HostileGateway } from './harness.js'

let gateway: HostileGateway
let first: Client
let attacker: Client

// 10,000 in the issue; 2,000 shows the same (unfixed: 2,000 requests in flight at once) in a fifth of the time.
const BATCH = 2_000

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text ?? ''

beforeAll(async () => {
  const [http, raw] = await Promise.all([startUpstream('http'), startRawUpstream()])
  gateway = await startGateway({ requestTimeout: 60_000 }, [
    stdioUpstream('steady-1', 'steady'),
    { id: 'steady-2', name: 'steady', connection: { type: 'http', url: http.url } },
    { id: 'raw-1', name: 'raw', connection: { type: 'http', url: raw.url } },
  ])
  first = await connect(gateway.url)
  attacker = await connect(gateway.url)
})

afterAll(async () => {
  await Promise.allSettled([first?.close(), attacker?.close()])
  await killAll()
})

/** The members' pids, each asked by a new session (a session stays with the member of its own upstream session). */
async function pids(): Promise<Set<string>> {
  const seen = new Set<string>()
  for (let i = 0; i < 4; i++) {
    const client = await connect(gateway.url)
    seen.add(textOf(await client.callTool({ name: 'pid' })))
    await client.close()
  }
  return seen
}

async function expectUnharmed(steady: ReturnType<typeof keepCalling>, rssBefore: number): Promise<void> {
  const { calls, failures } = await steady.stop()
  expect(failures).toEqual([])
  expect(calls).toBeGreaterThanOrEqual(20)
  expect(gateway.alive()).toBe(true)
  const servers = (await gateway.health()).servers
  expect(servers.map((s) => [s.id, s.status])).toEqual([
    ['steady-1', 'connected'],
    ['steady-2', 'connected'],
    ['raw-1', 'connected'],
  ])
  expect(gateway.rssMiB() - rssBefore).toBeLessThan(150)
}

describe('hostile requests', () => {
  it('3: arguments nested 100k deep get a clear error; no member is marked broken, no child restarted', async () => {
    const before = await pids()
    const rss = gateway.rssMiB()
    const steady = keepCalling(first, ['echo'])
    const session = await rawSession(gateway.url)
    const depth = 100_000
    const deep = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    for (let i = 1; i <= 10; i++) {
      const res = await session.post(
        `{"jsonrpc":"2.0","id":${i},"method":"tools/call","params":{"name":"echo","arguments":{"text":${deep}}}}`,
      )
      expect(res.status).toBe(200)
      const answer = JSON.parse(res.body) as { error?: { message: string } }
      expect(answer.error?.message).toMatch(/nest deeper than 64 levels\. Try this: .*maxArgumentDepth/)
    }
    await expectUnharmed(steady, rss)
    expect(await pids()).toEqual(before)
  })

  it('4: a batch of 2,000 calls is queued, never more than the per-session limit in flight upstream', async () => {
    const rss = gateway.rssMiB()
    const steady = keepCalling(first, ['echo'])
    const session = await rawSession(gateway.url)
    const batch = Array.from({ length: BATCH }, (_, i) => ({
      jsonrpc: '2.0',
      id: i + 1,
      method: 'tools/call',
      params: { name: 'slow', arguments: {} },
    }))
    const res = await session.post(JSON.stringify(batch))
    expect(res.status).toBe(200)
    const answers = JSON.parse(res.body) as { result?: { content: { text: string }[] }; error?: unknown }[]
    expect(answers).toHaveLength(BATCH)
    expect(answers.filter((a) => a.result?.content[0]?.text !== 'slow')).toEqual([])
    const stats = (await attacker.callTool({ name: 'stats' })) as { structuredContent: { maxInflight: number } }
    // 32 per session (the default): one client cannot take more of an upstream than that.
    expect(stats.structuredContent.maxInflight).toBeLessThanOrEqual(32)
    expect(stats.structuredContent.maxInflight).toBeGreaterThan(1)
    await expectUnharmed(steady, rss)
  })
})
