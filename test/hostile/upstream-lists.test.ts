// Items 1, 3, 6 and 7 of issue 28: what the gateway takes in from an upstream's lists. Each test runs its own
// gateway process with a hostile upstream (raw-upstream.ts, LISTS=...) and a well-behaved client calling a
// good pool throughout, which must see every call succeed with no stall over 1 s.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterEach, describe, expect, it } from 'vitest'
import { killAll, killProcess, type Started } from '../helpers/processes.js'
import { announceLists, connect, keepCalling, startGateway, startRawUpstream, startUpstream, type HostileGateway } from './harness.js'

/** The gateway's resident memory stays under this while and after an upstream misbehaves (about 90 MiB idle). */
const RSS_BOUND_MIB = 400

const clients: Client[] = []

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()))
  await killAll()
})

const http = (id: string, started: Started) => ({ id, name: id.replace(/-\d+$/, ''), connection: { type: 'http' as const, url: started.url } })
const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text ?? ''
const statusOf = async (gateway: HostileGateway, id: string) => (await gateway.health()).servers.find((s) => s.id === id)!.status
const count = (text: string, line: string) => text.split('\n').filter((l) => l === line).length

async function client(gateway: HostileGateway): Promise<Client> {
  const connected = await connect(gateway.url)
  clients.push(connected)
  return connected
}

async function announce(raw: Started, lists: string, times: number): Promise<void> {
  expect(await announceLists(raw, lists, times)).toMatch(/announced to [1-9]/)
}

/** After an attack: the gateway lives, the steady client's calls all succeeded without a stall, memory is bounded. */
async function expectUnharmed(gateway: HostileGateway, steady: ReturnType<typeof keepCalling>): Promise<void> {
  const { calls, failures, maxGapMs } = await steady.stop()
  expect(failures).toEqual([])
  expect(calls).toBeGreaterThanOrEqual(20)
  expect(maxGapMs).toBeLessThan(1000)
  expect(gateway.alive()).toBe(true)
  expect(gateway.rssMiB()).toBeLessThan(RSS_BOUND_MIB)
}

describe('hostile upstream lists', () => {
  it('1: items nested 5,000 levels are dropped at start-up and at run time, the rest stays, and a restarted upstream reconnects', async () => {
    const [steadyUpstream, good, deep, later] = await Promise.all([
      startUpstream('http'),
      startUpstream('http'),
      startRawUpstream({ LISTS: 'deep' }),
      startRawUpstream({ LISTS: 'quiet' }),
    ])
    const gateway = await startGateway({ reconnectDelay: 200 }, [
      http('steady-1', steadyUpstream),
      http('good-1', good),
      http('deep-1', deep),
      http('later-1', later),
    ])
    const first = await client(gateway)
    const steady = keepCalling(first, ['steady__echo'])
    const attacker = await client(gateway)
    const names = async () => (await attacker.listTools()).tools.map((t) => t.name)

    expect(await statusOf(gateway, 'deep-1')).toBe('connected')
    expect(await names()).toEqual(expect.arrayContaining(['deep__ok', 'deep__listed', 'later__ok', 'good__echo']))
    expect((await names()).filter((name) => /deep_(out|meta)|__deep$/.test(name))).toEqual([])
    expect((await attacker.listPrompts()).prompts.map((p) => p.name).sort()).toEqual(['deep__hello', 'later__hello'])
    expect((await attacker.listResources()).resources.map((r) => r.uri)).not.toContain('raw://deep')
    expect((await attacker.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).not.toContain('raw://d/{x}')
    for (const item of ['tools/list item "deep"', 'tools/list item "deep_out"', 'tools/list item "deep_meta"', 'prompts/list item "deep_prompt"']) {
      expect(gateway.stderr()).toContain(`Upstream "deep-1": dropped ${item}: it nests deeper than 128 levels (maxListItemDepth).`)
    }
    expect(gateway.stderr()).toMatch(/dropped resources\/list item "raw:\/\/deep"/)
    expect(gateway.stderr()).toMatch(/dropped resources\/templates\/list item "raw:\/\/d\/\{x\}"/)

    // Announced at run time: the list is read again, the deep items dropped, tools/list answered for everyone.
    await announce(later, 'deep', 1)
    await expect.poll(() => gateway.stderr(), { timeout: 10_000 }).toContain('Upstream "later-1": dropped tools/list item "deep"')
    expect(await names()).toEqual(expect.arrayContaining(['later__ok', 'later__listed']))
    await expect((await client(gateway)).listTools()).resolves.toBeTruthy()

    // An unrelated good upstream restarts: it reconnects and serves again.
    const port = new URL(good.url).port
    await killProcess(good.child)
    await expect.poll(() => statusOf(gateway, 'good-1'), { timeout: 10_000 }).toBe('error')
    await startUpstream('http', { AIRMCP_PORT: port })
    await expect.poll(() => statusOf(gateway, 'good-1'), { timeout: 20_000 }).toBe('connected')
    expect(textOf(await attacker.callTool({ name: 'good__echo', arguments: { text: 'back' } }))).toBe('back')
    await expectUnharmed(gateway, steady)
  })

  it('3: a tools/list that never stops paging is cut at the list limits, at start-up and at run time', async () => {
    const [steadyUpstream, endless] = await Promise.all([startUpstream('http'), startRawUpstream({ LISTS: 'endless' })])
    // The front listens: start-up did not wait for the endless listing to end.
    const gateway = await startGateway({}, [http('steady-1', steadyUpstream), http('endless-1', endless)])
    expect(gateway.stderr()).toMatch(/Upstream "endless-1": tools\/list stopped (after 100 pages|at \d+ items|at \d+ bytes)/)
    expect(gateway.rssMiB()).toBeLessThan(RSS_BOUND_MIB)
    const first = await client(gateway)
    const steady = keepCalling(first, ['echo'])
    const attacker = await client(gateway)
    const listed = (await attacker.listTools()).tools
    expect(listed.length).toBeGreaterThan(100)
    expect(listed.length).toBeLessThanOrEqual(20_000 + 10)
    expect(listed.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'ok', 'e0_0']))

    const cuts = () => gateway.stderr().split('tools/list stopped').length - 1
    await announce(endless, 'endless', 20)
    await expect.poll(cuts, { timeout: 20_000 }).toBeGreaterThanOrEqual(2)
    expect((await attacker.listTools()).tools.length).toBeGreaterThan(100)
    await expectUnharmed(gateway, steady)
  })

  it('3: an upstream paging slowly without end holds start-up for one connectTimeout at most', async () => {
    const [steadyUpstream, slow] = await Promise.all([startUpstream('http'), startRawUpstream({ LISTS: 'endless', PAGE_MS: '200' })])
    const gateway = await startGateway({ connectTimeout: 2000 }, [http('steady-1', steadyUpstream), http('slow-1', slow)])
    expect(gateway.stderr()).toContain('Upstream "slow-1": tools/list stopped when its time ran out (connectTimeout)')
    expect(await statusOf(gateway, 'slow-1')).toBe('connected')
    const first = await client(gateway)
    const steady = keepCalling(first, ['echo'])
    const listed = (await first.listTools()).tools.map((t) => t.name)
    expect(listed).toEqual(expect.arrayContaining(['echo', 'ok', 'e0_0', 'e1_0']))
    expect(listed.length).toBeLessThan(100 * 100)
    await expectUnharmed(gateway, steady)
  })

  it('6: 4,000 names that coincide in two pools, re-announced 200 times, are named in linear time and refetched at most a few times', async () => {
    const [steadyUpstream, many, also] = await Promise.all([
      startUpstream('http'),
      startRawUpstream({ LISTS: 'many' }),
      startRawUpstream({ LISTS: 'many' }),
    ])
    const gateway = await startGateway({}, [http('steady-1', steadyUpstream), http('many-1', many), http('also-1', also)])
    const first = await client(gateway)
    let announced = 0
    first.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      announced++
    })
    const steady = keepCalling(first, ['echo'])
    const attacker = await client(gateway)
    const tools = (await attacker.listTools()).tools.map((t) => t.name)
    expect(new Set(tools).size).toBe(tools.length)
    expect(tools.filter((name) => name.startsWith('many__n_'))).toHaveLength(4000)
    expect(tools.filter((name) => name.startsWith('also__n_'))).toHaveLength(4000)

    const listings = () => count(many.stderr(), 'listed tools')
    const before = listings()
    await announce(many, 'many', 200)
    const description = async () => (await attacker.listTools()).tools.find((t) => t.name === 'many__listed')?.description
    await expect.poll(description, { timeout: 20_000 }).not.toBe(`listed ${before} times`)
    await expect.poll(async () => (await description()) === `listed ${listings()} times`, { timeout: 20_000 }).toBe(true)
    await expectUnharmed(gateway, steady)
    // 200 list_changed: one refetch in flight and one more after it (a third when the burst came in two reads).
    expect(listings() - before).toBeGreaterThanOrEqual(1)
    expect(listings() - before).toBeLessThanOrEqual(3)
    expect(announced).toBeGreaterThanOrEqual(1)
    expect(announced).toBeLessThanOrEqual(3)
  })

  it("7: a pool offering echo and good__echo cannot take the good pool's good__echo; empty and control-character names are refused", async () => {
    const [good, bad] = await Promise.all([startUpstream('http'), startRawUpstream({ LISTS: 'clash' })])
    const gateway = await startGateway({}, [http('good-1', good), http('bad-1', bad)])
    const first = await client(gateway)
    const steady = keepCalling(first, ['good__echo'])
    const attacker = await client(gateway)
    const names = (await attacker.listTools()).tools.map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining(['good__echo', 'bad__echo', 'bad__good__echo']))
    expect(names.filter((name) => name === '' || name.startsWith('bell'))).toEqual([])
    expect(gateway.stderr()).toContain('Upstream "bad-1": dropped tools/list item "": it has no name.')
    expect(gateway.stderr()).toContain('Upstream "bad-1": dropped tools/list item "bell\\u0007": its name has control characters.')

    const secret = 'my-api-key-s3cr3t'
    expect(textOf(await attacker.callTool({ name: 'good__echo', arguments: { text: secret } }))).toBe(secret)
    await expectUnharmed(gateway, steady)
    expect(bad.stderr()).not.toContain('called')
    // The bad pool's own tools still reach it, under its own prefix.
    expect(textOf(await attacker.callTool({ name: 'bad__good__echo', arguments: { text: 'x' } }))).toBe('good__echo at raw')
    expect(bad.stderr()).toContain('called good__echo')
    expect(bad.stderr()).not.toContain('called echo')
  })
})
