import { execFile } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Gateway } from 'airmcp/gateway'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

// The official suite, which needs Node 22: npx brings node@22 and the suite from the npm registry.
const SUITE = ['-y', '-p', 'node@22', '-p', '@modelcontextprotocol/conformance@0.1.16', '--', 'conformance', 'server', '--url']

function runSuite(url: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('npx', [...SUITE, url], { timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` })
    })
  })
}

/** Scenario → "N passed, M failed" from the suite's summary. */
function summary(output: string): Map<string, string> {
  const rows = [...output.matchAll(/^[✓✗] ([\w-]+): (\d+ passed, \d+ failed)/gmu)]
  return new Map(rows.map(([, scenario, counts]) => [scenario, counts]))
}

describe('official MCP conformance suite (0.1.16)', () => {
  let direct = ''
  const gateway = new Gateway({ name: 'conformance-gateway', port: 0, handleSignals: false })

  beforeAll(async () => {
    direct = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/conformance.ts'], { env: { AIRMCP_PORT: '0' } })).url
    gateway.register({ id: 'conformance-1', name: 'conformance', connection: { type: 'http', url: direct } })
    await gateway.start()
  })
  afterAll(async () => {
    await gateway.stop()
    await killAll()
  })

  let directResults = new Map<string, string>()

  it('passes every active scenario against an airmcp server', async () => {
    const { code, output } = await runSuite(direct)
    directResults = summary(output)
    expect(directResults.size, output.slice(-3000)).toBeGreaterThanOrEqual(30)
    expect([...directResults].filter(([, counts]) => !counts.endsWith(' 0 failed')), output.slice(-3000)).toEqual([])
    expect(code).toBe(0)
  }, 360_000)

  it('passes the same scenarios through the gateway', async () => {
    const { code, output } = await runSuite(gateway.url!)
    const results = summary(output)
    expect([...results.keys()].sort()).toEqual([...directResults.keys()].sort())
    expect([...results].filter(([, counts]) => !counts.endsWith(' 0 failed')), output.slice(-3000)).toEqual([])
    expect(code).toBe(0)
  }, 360_000)
})
