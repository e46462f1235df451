// Item 9 of issue 15: `airmcp bridge` (what Claude Desktop launches) lives as long as the app, so thousands
// of calls must leave it quiet (no MaxListenersExceededWarning) and flat in memory. Unfixed, Node 20's undici
// adds one listener per POST to the transport's long-lived signal, removed only when a full GC happens to
// run: past 1,500 alive it warns (here from about 2,500 calls on, in some runs only). So that the test does
// not depend on the garbage collector, the bridge runs with a preload that reports every 100th abort
// listener added to one signal: unfixed, that line appears after 100 calls.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, ROOT } from '../helpers/processes.js'
import type { Started } from '../helpers/processes.js'
import { connect, keepCalling, rssMiB, startUpstream, TOKEN } from './harness.js'

// The bridge speaks to any Streamable HTTP endpoint; a server of its own (no gateway hop) keeps the test short.
let server: Started
const clients: Client[] = []

beforeAll(async () => {
  server = await startUpstream('http', { UPSTREAM_TOKEN: TOKEN })
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await killAll()
})

describe('the desktop bridge under many calls', () => {
  it('9: 1,500 calls through `airmcp bridge`: no listener warning, flat RSS', async () => {
    const first = await connect(server.url)
    clients.push(first)
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [`${ROOT}bin/run.js`, 'bridge', server.url],
      env: {
        ...(process.env as Record<string, string>),
        AIRMCP_TOKEN: TOKEN,
        NODE_OPTIONS: `--import ${ROOT}test/hostile/count-abort-listeners.mjs`,
      },
      stderr: 'pipe',
    })
    let stderr = ''
    transport.stderr!.on('data', (chunk) => (stderr += String(chunk)))
    const desktop = new Client({ name: 'desktop', version: '0' })
    await desktop.connect(transport)
    clients.push(desktop)
    const steady = keepCalling(first, ['echo'])
    const callMany = async (count: number) => {
      let next = 0
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (next < count) {
            const text = `c${next++}`
            const result = (await desktop.callTool({ name: 'echo', arguments: { text } })) as { content: { text: string }[] }
            expect(result.content[0].text).toBe(text)
          }
        }),
      )
    }
    await callMany(300)
    const rssAfterWarmup = rssMiB(transport.pid!)
    await callMany(1200)
    const rssAfter = rssMiB(transport.pid!)
    expect(stderr).not.toMatch(/MaxListenersExceededWarning/)
    expect(stderr).not.toMatch(/abort listeners added to one signal: \d+/)
    // Generous: the issue measured +90 MiB over 16,000 calls unfixed; this only catches a gross leak.
    expect(rssAfter - rssAfterWarmup).toBeLessThan(40)
    const { calls, failures } = await steady.stop()
    expect(failures).toEqual([])
    expect(calls).toBeGreaterThanOrEqual(20)
    expect(server.child.exitCode).toBe(null)
    expect(transport.pid).toBeDefined()
  })
})
