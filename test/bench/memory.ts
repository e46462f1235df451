// The memory section of `npm run bench` (issue 22): the gateway's and `airmcp bridge`'s RSS must reach a
// plateau. 8,000 calls warm each up; 16,000 more must grow it by less than 20 MiB. The gateway is called by
// 2025 and 2026 clients at once (SDK v2 clients, one pinned to each revision); the bridge by an SDK client on
// its stdio, as Claude Desktop would, toward the same gateway.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { killAll, ROOT } from '../helpers/processes.js'
import { rssMiB, startGateway, startUpstream, TOKEN } from '../hostile/harness.js'
import { fmt, postWithoutSharedSignal } from './measure.js'

const WARM_UP = 8_000
const MEASURED = 16_000
const CALLERS = 20
const LIMIT_MIB = 20

type Caller = { callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown> }

/** `count` calls of `tool`, spread over the callers, each answer checked. */
async function callMany(callers: Caller[], tool: string, count: number): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, i) => {
      const caller = callers[i % callers.length]
      while (next < count) {
        const text = `m${next++}`
        const result = (await caller.callTool({ name: tool, arguments: { text } })) as { content: { text: string }[] }
        if (result.content[0]?.text !== text) throw new Error(`${tool} answered ${JSON.stringify(result)} to ${text}`)
      }
    }),
  )
}

/** RSS after the warm-up and after the measured calls. */
async function plateau(pid: number, run: (count: number) => Promise<void>) {
  await run(WARM_UP)
  const warm = rssMiB(pid)
  await run(MEASURED)
  return { warm, after: rssMiB(pid) }
}

export async function memorySection(out: (line?: string) => void): Promise<void> {
  const upstream = await startUpstream('http')
  const gateway = await startGateway({}, [{ id: 'http-1', name: 'http', connection: { type: 'http', url: upstream.url } }])
  const headers = { authorization: `Bearer ${TOKEN}` }
  const connect = async (era: '2025' | '2026') => {
    const mode = era === '2026' ? { pin: '2026-07-28' } : ('legacy' as const)
    const client = new Client({ name: 'bench-memory', version: '0' }, { versionNegotiation: { mode } })
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers }, fetch: postWithoutSharedSignal }))
    return client
  }
  const clients = [await connect('2025'), await connect('2026')]
  const viaGateway = await plateau(gateway.pid, (count) => callMany(clients, 'echo', count))

  const bridgeTransport = new StdioClientTransport({
    command: process.execPath,
    args: [`${ROOT}bin/run.js`, 'bridge', gateway.url],
    env: { ...(process.env as Record<string, string>), AIRMCP_TOKEN: TOKEN },
    stderr: 'ignore',
  })
  const desktop = new Client({ name: 'bench-desktop', version: '0' })
  await desktop.connect(bridgeTransport)
  const viaBridge = await plateau(bridgeTransport.pid!, (count) => callMany([desktop], 'echo', count))

  await Promise.allSettled([...clients, desktop].map((client) => client.close()))
  await killAll()

  out('## Memory: RSS plateau')
  out()
  out(`| process | RSS after ${WARM_UP.toLocaleString('en')} calls (MiB) | after ${MEASURED.toLocaleString('en')} more | growth | target |`)
  out('| --- | --- | --- | --- | --- |')
  for (const [name, { warm, after }] of [
    ['gateway (2025 and 2026 clients, Streamable HTTP upstream)', viaGateway],
    ['`airmcp bridge` (stdio client → gateway)', viaBridge],
  ] as const) {
    out(`| ${name} | ${fmt(warm, 0)} | ${fmt(after, 0)} | ${fmt(after - warm, 1)} | < ${LIMIT_MIB} MiB: ${after - warm < LIMIT_MIB ? 'met' : 'not met'} |`)
  }
  out()
}
