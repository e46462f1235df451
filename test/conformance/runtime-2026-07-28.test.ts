import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { failing, runSuite, SUITE_VERSION, tally, tasksResults } from './suite.js'

// The fixture server, directly: its own process, so this file depends on no other.
describe(`official MCP conformance suite ${SUITE_VERSION}, --requirements 2026-07-28, airmcp server`, () => {
  let url = ''
  beforeAll(async () => {
    url = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/conformance.ts'], { env: { AIRMCP_PORT: '0' } })).url
  })
  afterAll(killAll)

  it('passes every scored check', async () => {
    const run = await runSuite(url, '2026-07-28')
    expect(run.scored.size, run.output.slice(-3000)).toBeGreaterThanOrEqual(20)
    expect(failing(run.scored), run.output.slice(-3000)).toEqual([])
    // The Tasks extension is not scored: each of its scenarios must still run and pass.
    for (const [scenario, counts] of Object.entries(tasksResults(run))) expect(counts, scenario).toMatch(/ 0 failed$/)
    console.info(`2026-07-28 direct: scored ${tally(run.scored)} scenarios; not scored ${tally(run.notScored)} passing`)
  }, 360_000)
})
