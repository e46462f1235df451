import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Gateway } from 'airmcp/gateway'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { failing, runSuite, SUITE_VERSION, tally } from './suite.js'

// The fixture server behind a gateway of its own, so this file depends on no other.
describe(`official MCP conformance suite ${SUITE_VERSION}, --requirements 2025-11-25, through the gateway`, () => {
  const gateway = new Gateway({ name: 'conformance-gateway', port: 0, handleSignals: false })
  beforeAll(async () => {
    const direct = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/conformance.ts'], { env: { AIRMCP_PORT: '0' } })).url
    gateway.register({ id: 'conformance-1', name: 'conformance', connection: { type: 'http', url: direct } })
    await gateway.start()
  })
  afterAll(async () => {
    await gateway.stop()
    await killAll()
  })

  it('passes every scored check', async () => {
    const run = await runSuite(gateway.url!, '2025-11-25')
    expect(run.scored.size, run.output.slice(-3000)).toBeGreaterThanOrEqual(20)
    expect(failing(run.scored), run.output.slice(-3000)).toEqual([])
    console.info(`2025-11-25 through the gateway: scored ${tally(run.scored)} scenarios; not scored ${tally(run.notScored)} passing`)
  }, 360_000)
})
