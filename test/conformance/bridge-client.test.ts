// The official suite's client leg through `airmcp bridge` (issue 24): the runner's server (and, for auth/*,
// its authorization server) on one side, fixtures/conformance/bridge-client.ts on the other, which spawns
// the bridge from bin/run.js and performs each scenario with an SDK client on the bridge's stdio.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/processes.js'
import { CLIENT_SCORED, failing, runClientLeg, SUITE_VERSION } from './suite.js'

const COMMAND = `${process.execPath} --import tsx ${join(ROOT, 'fixtures/conformance/bridge-client.ts')}`

describe.each(['2025-11-25', '2026-07-28'] as const)(`official MCP conformance suite ${SUITE_VERSION}, client leg --requirements %s, through airmcp bridge`, (revision) => {
  it('passes every scored scenario', async () => {
    const { run, report } = await runClientLeg(COMMAND, revision, 'airmcp bridge')
    console.info(report)
    expect([...run.scored.keys()], run.output.slice(-3000)).toEqual(expect.arrayContaining(CLIENT_SCORED[revision]))
    expect(failing(run.scored), run.output.slice(-5000)).toEqual([])
  }, 1_500_000)
})
