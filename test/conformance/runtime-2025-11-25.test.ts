import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { failing, runSuite, SUITE_VERSION, tally } from './suite.js'

// The fixture server, directly: its own process, so this file depends on no other.
describe(`official MCP conformance suite ${SUITE_VERSION}, --requirements 2025-11-25, airmcp server`, () => {
  let url = ''
  beforeAll(async () => {
    url = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/conformance.ts'], { env: { AIRMCP_PORT: '0' } })).url
  })
  afterAll(killAll)

  it('passes every scored check', async () => {
    const run = await runSuite(url, '2025-11-25')
    expect(run.scored.size, run.output.slice(-3000)).toBeGreaterThanOrEqual(20)
    expect(failing(run.scored), run.output.slice(-3000)).toEqual([])
    console.info(`2025-11-25 direct: scored ${tally(run.scored)} scenarios; not scored ${tally(run.notScored)} passing`)
  }, 360_000)
})
