// Issue 27: real npm servers direct vs through a real gateway process, 2025 and 2026 clients.
import { mkdtempSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Gateway, type Registration } from 'airmcp/gateway'
import type { HostileGateway } from '../hostile/harness.js'
import { freePort, killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import {
  type ClientEra,
  type FidelityClient,
  closeFidelityClients,
  connectDirect,
  connectThrough,
  type NpmServer,
  resolveEntry,
  type Scrub,
  type Step,
  startFidelityGateway,
  step,
  textOf,
  transcript,
} from './harness.js'

const ERAS: ClientEra[] = ['2025', '2026']
const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'airmcp-fidelity-')))
mkdirSync(path.join(root, 'sub'))
writeFileSync(path.join(root, 'hello.txt'), 'hello from the root\n')
writeFileSync(path.join(root, 'sub', 'inner.txt'), 'inside sub\n')

const FILESYSTEM: NpmServer = { name: 'filesystem', entry: '@modelcontextprotocol/server-filesystem/dist/index.js', args: [root] }
const EVERYTHING: NpmServer = { name: 'everything', entry: '@modelcontextprotocol/server-everything/dist/index.js', args: ['stdio'] }

/** One gateway per server, so a transcript through it compares with the server's alone. */
let filesystem: HostileGateway
let everything: HostileGateway
/** The everything server behind a gateway with short timeouts: 2.5 s without news, 7 s in all. */
let impatient: HostileGateway
/** everything (2025, instructions in its initialize result) and instructed (2026, in its server/discover result). */
let instructed: HostileGateway
const instructionsFile = path.join(root, 'instructions.md')
/** Longer than the gateway's cap per server (8,192 characters). */
const LONG_INSTRUCTIONS = `Use restart to restart. ${'x'.repeat(10_000)}`
writeFileSync(instructionsFile, LONG_INSTRUCTIONS)
const INSTRUCTED: Registration = {
  id: 'instructed',
  name: 'instructed',
  connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/instructed.ts'], env: { INSTRUCTIONS_FILE: instructionsFile } },
}
const REQUEST_TIMEOUT = 2500
// Twice the 5 s a reporting call takes: a loaded machine stretches its 25 steps of 200 ms well past 5 s.
const MAX_TOTAL = 10_000

beforeAll(async () => {
  ;[filesystem, everything, impatient, instructed] = await Promise.all([
    startFidelityGateway([FILESYSTEM]),
    startFidelityGateway([EVERYTHING]),
    startFidelityGateway([EVERYTHING], { requestTimeout: REQUEST_TIMEOUT, maxRequestTotalMs: MAX_TOTAL }),
    startFidelityGateway([EVERYTHING, INSTRUCTED], { reconnectDelay: 100 }),
  ])
}, 120_000)

afterAll(async () => {
  await closeFidelityClients()
  await killAll()
  rmSync(root, { recursive: true, force: true })
})

describe.each(ERAS)('filesystem with a %s client', (era) => {
  it('lists and reads as direct', async () => {
    const calls = [{ tool: 'read_text_file', arguments: { path: path.join(root, 'hello.txt') } }, { tool: 'list_directory', arguments: { path: root } }]
    const direct = await connectDirect(FILESYSTEM, { era })
    const through = await connectThrough(filesystem, { era })
    expect(await transcript(through, calls)).toEqual(await transcript(direct, calls))
    await Promise.all([direct.close(), through.close()])
  }, 60_000)
})

const hello = path.join(root, 'hello.txt')
const inner = path.join(root, 'sub', 'inner.txt')
const readText = (client: FidelityClient, file: string) => step('read', () => client.callTool({ name: 'read_text_file', arguments: { path: file } }))

describe('roots reach the server (issue 27 item 1)', () => {
  // Direct, a 2026 client negotiates 2025 with this 2025 server (a 2026-pinned one cannot connect); through the gateway it speaks 2026.
  it.each(ERAS)('a %s client declaring roots [R/sub] is refused R/hello.txt as direct, and allowed it once its roots say R', async (era) => {
    const direct = await connectDirect(FILESYSTEM, { era, roots: [{ uri: `file://${root}/sub`, name: 'sub' }] })
    const through = await connectThrough(filesystem, { era, roots: [{ uri: `file://${root}/sub`, name: 'sub' }] })
    for (const client of [direct, through]) {
      expect(textOf((await readText(client, inner)).outcome)).toBe('inside sub\n')
      // The server asks for roots once initialized and applies them asynchronously (it checks each directory),
      // so a call racing that may still see the directories it was started on, direct as through the gateway.
      await expect.poll(async () => textOf((await readText(client, hello)).outcome), { timeout: 15_000 }).toMatch(/outside allowed directories/)
    }
    expect((await readText(through, hello)).outcome).toEqual((await readText(direct, hello)).outcome)
    // notifications/roots/list_changed reaches the server, which asks again.
    for (const client of [direct, through]) {
      await client.setRoots([{ uri: `file://${root}`, name: 'root' }])
      await expect.poll(async () => textOf((await readText(client, hello)).outcome), { timeout: 15_000 }).toBe('hello from the root\n')
    }
    await Promise.all([direct.close(), through.close()])
  }, 60_000)

  it('a client declaring no roots gets what the server was started on, as direct', async () => {
    const direct = await connectDirect(FILESYSTEM, { era: '2025' })
    const through = await connectThrough(filesystem, { era: '2025' })
    expect((await readText(through, hello)).outcome).toEqual((await readText(direct, hello)).outcome)
    expect(textOf((await readText(through, hello)).outcome)).toBe('hello from the root\n')
    await Promise.all([direct.close(), through.close()])
  }, 60_000)
})

describe.each(ERAS)('progress extends the timeout (issue 27 item 4), %s client', (era) => {
  const longRun = (client: FidelityClient, duration: number, steps: number, progress: boolean) =>
    step('long', () =>
      client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration, steps } },
        // The client itself waits long; it is the gateway's deadline under test.
        { timeout: 120_000, resetTimeoutOnProgress: true, ...(progress ? { onprogress: () => {} } : {}) },
      ),
    )

  it('a call reporting progress every 200 ms runs 5 s, past a 2.5 s requestTimeout; a silent one is cut at it; one reporting forever is cut at maxRequestTotalMs', async () => {
    const client = await connectThrough(impatient, { era })
    const [reporting, silent, forever] = await Promise.all([longRun(client, 5, 25, true), longRun(client, 5, 25, false), longRun(client, 600, 3000, true)])
    expect(textOf(reporting.outcome)).toBe('Long running operation completed. Duration: 5 seconds, Steps: 25.')
    expect(silent.outcome).toMatchObject({ error: { code: -32001 } })
    expect(textOf(silent.outcome)).toMatch(`did not answer tools/call "trigger-long-running-operation" within ${REQUEST_TIMEOUT} ms`)
    expect(forever.outcome).toMatchObject({ error: { code: -32001 } })
    expect(textOf(forever.outcome)).toMatch(`within ${MAX_TOTAL} ms (maxRequestTotalMs)`)
    await client.close()
  }, 60_000)
})

it('a maxRequestTotalMs that is not a positive number is refused with what to write instead', () => {
  for (const bad of [0, -1, Number.NaN, '600000']) {
    expect(() => new Gateway({ name: 'g', maxRequestTotalMs: bad as number })).toThrow(
      'maxRequestTotalMs must be a positive number of ms. Try this: maxRequestTotalMs: 600_000 (10 min).',
    )
  }
})

describe('instructions (issue 27 item 5)', () => {
  it("the gateway's instructions carry each server's under its name, in both eras, cut when over-long and read again on reconnect", async () => {
    const direct = await connectDirect(EVERYTHING, { era: '2025' })
    const everythings = direct.instructions()!
    expect(everythings.length).toBeGreaterThan(1000)
    const cut = `${LONG_INSTRUCTIONS.slice(0, 8192)}\n[… cut by the gateway: ${LONG_INSTRUCTIONS.length - 8192} more characters]`
    for (const era of ERAS) {
      const client = await connectThrough(instructed, { era })
      expect(client.instructions()).toBe(`## everything\n${everythings}\n\n## instructed\n${cut}`)
      await client.close()
    }
    // The server restarts with other instructions: new sessions (and 2026 requests) get those.
    writeFileSync(instructionsFile, 'Short now.')
    const restarter = await connectThrough(instructed, { era: '2025' })
    expect(textOf((await step('restart', () => restarter.callTool({ name: 'restart' }))).outcome)).toBe('restarting')
    for (const era of ERAS) {
      await expect
        .poll(
          async () => {
            const client = await connectThrough(instructed, { era })
            const text = client.instructions()
            await client.close()
            return text
          },
          { timeout: 30_000, interval: 200 },
        )
        .toBe(`## everything\n${everythings}\n\n## instructed\nShort now.`)
    }
    await Promise.all([direct.close(), restarter.close()])
  }, 90_000)
})

// Tasks (simulate-research-query's taskSupport "required") belong to the Tasks issue; a 2026 client is not sent them.
const withoutTasks: Scrub = (value) => {
  if (!value || typeof value !== 'object' || !('execution' in value)) return value
  const { execution: _tasks, ...rest } = value as Record<string, unknown>
  return rest
}
const toolsOf = (client: FidelityClient) => step('tools/list', () => client.listTools(), withoutTasks)
const namesOf = (listed: Step) => (listed.outcome as { tools: { name: string }[] }).tools.map((tool) => tool.name)

/** The everything server over Streamable HTTP behind a gateway: a 2025 server that decides at each session's initialize. */
async function everythingOverHttp(): Promise<HostileGateway> {
  const port = await freePort()
  await startListening([resolveEntry(EVERYTHING.entry), 'streamableHttp'], { env: { PORT: String(port) }, pattern: /listening on port (\d+)/ })
  return startFidelityGateway([{ id: 'everything', name: 'everything', connection: { type: 'http', url: `http://127.0.0.1:${port}/mcp` } }])
}

describe('capabilities (issue 27 item 6)', () => {
  let overHttp: HostileGateway
  beforeAll(async () => {
    overHttp = await everythingOverHttp()
  }, 60_000)

  it.each(ERAS.flatMap((era) => [[era, 'stdio'], [era, 'http']] as const))('a %s client declaring no capabilities is offered the tools it is offered direct (%s upstream); one it is not offered is an unknown tool', async (era, upstream) => {
    const direct = await connectDirect(EVERYTHING, { era })
    const through = await connectThrough(upstream === 'stdio' ? everything : overHttp, { era })
    const listed = await toolsOf(through)
    expect(listed).toEqual(await toolsOf(direct))
    expect(namesOf(listed)).not.toContain('trigger-sampling-request')
    expect(namesOf(listed)).not.toContain('trigger-elicitation-request')
    expect(namesOf(listed)).toContain('echo')
    for (const [tool, args] of [
      ['trigger-sampling-request', { prompt: 'hi' }],
      ['trigger-elicitation-request', {}],
    ] as const) {
      const called = await step(tool, () => through.callTool({ name: tool, arguments: args }))
      expect(called.outcome).toEqual({ error: { code: -32602, message: `Unknown tool "${tool}".` } })
    }
    await Promise.all([direct.close(), through.close()])
  }, 60_000)

  it.each(ERAS.flatMap((era) => [[era, 'stdio'], [era, 'http']] as const))('a %s client declaring sampling and elicitation is offered both tools and calls them, as direct (%s upstream)', async (era, upstream) => {
    const setup = { era, capabilities: { sampling: {}, elicitation: { form: {}, url: {} } } }
    const direct = await connectDirect(EVERYTHING, setup)
    const through = await connectThrough(upstream === 'stdio' ? everything : overHttp, setup)
    const listed = await toolsOf(through)
    expect(listed).toEqual(await toolsOf(direct))
    expect(namesOf(listed)).toEqual(expect.arrayContaining(['trigger-sampling-request', 'trigger-elicitation-request']))
    expect(namesOf(listed)).not.toContain('get-roots-list')
    const calls = [
      { tool: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } },
      { tool: 'trigger-elicitation-request' },
    ]
    expect(await transcript(through, calls, { scrub: withoutTasks })).toEqual(await transcript(direct, calls, { scrub: withoutTasks }))
    await Promise.all([direct.close(), through.close()])
  }, 60_000)
})

describe.each(ERAS)('everything with a %s client declaring sampling, elicitation and roots', (era) => {
  it('lists, calls (sampling, elicitation and roots included), reads and gets prompts as direct', async () => {
    const setup = { era, capabilities: { sampling: {}, elicitation: { form: {}, url: {} } }, roots: [{ uri: `file://${root}`, name: 'root' }] }
    // A tool's task support (`execution`) is a 2025 field: a 2025 client sees it as direct (tasks.test.ts runs
    // the task tool); a 2026 client direct to this 2025 server sees it, through the gateway (2026) it is not sent.
    const scrub: Scrub = era === '2025' ? (value) => value : withoutTasks
    const calls = [
      { tool: 'echo', arguments: { message: 'hi' } },
      { tool: 'get-sum', arguments: { a: 2, b: 3 } },
      { tool: 'get-tiny-image' },
      { tool: 'get-structured-content', arguments: { location: 'New York' } },
      { tool: 'get-annotated-message', arguments: { messageType: 'error', includeImage: false } },
      { tool: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } },
      { tool: 'trigger-elicitation-request' },
      { tool: 'get-roots-list' },
    ]
    const prompts = [{ name: 'simple-prompt' }, { name: 'args-prompt', arguments: { city: 'Paris' } }]
    const direct = await connectDirect(EVERYTHING, setup)
    const through = await connectThrough(everything, setup)
    expect(await transcript(through, calls, { prompts, scrub })).toEqual(await transcript(direct, calls, { prompts, scrub }))
    await Promise.all([direct.close(), through.close()])
  }, 60_000)
})
