// The official suite's client leg through the gateway (issue 24): the runner's server (and, for auth/*, its
// authorization server) as the gateway's only upstream, fixtures/conformance/gateway-client.ts on the other
// side, which starts a Gateway (per-user upstream OAuth for auth/*) and performs each scenario with an SDK
// client on the gateway's front, answering the gateway's URL elicitation as a browser would.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/processes.js'
import { CLIENT_SCORED, failing, runClientLeg, SUITE_VERSION } from './suite.js'

const COMMAND = `${process.execPath} --import tsx ${join(ROOT, 'fixtures/conformance/gateway-client.ts')}`

describe.each(['2025-11-25', '2026-07-28'] as const)(`official MCP conformance suite ${SUITE_VERSION}, client leg --requirements %s, through the gateway`, (revision) => {
  it('passes every scored scenario', async () => {
    const { run, report } = await runClientLeg(COMMAND, revision, 'the gateway')
    console.info(report)
    expect([...run.scored.keys()], run.output.slice(-3000)).toEqual(expect.arrayContaining(CLIENT_SCORED[revision]))
    expect(failing(run.scored), run.output.slice(-5000)).toEqual([])
  }, 1_500_000)
})
