// The official suite's client leg through `airmcp bridge` (issue 24): the runner's server (and, for auth/*,
// its authorization server) on one side, fixtures/conformance/bridge-client.ts on the other, which spawns
// the bridge from bin/run.js and performs each scenario with an SDK client on the bridge's stdio.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/processes.js'
import { failing, type Revision, runClientScenario, runClientSuite, SUITE_VERSION, tally } from './suite.js'

const COMMAND = `${process.execPath} --import tsx ${join(ROOT, 'fixtures/conformance/bridge-client.ts')}`

const AUTH_BOTH = [
  'auth/metadata-default',
  'auth/metadata-var1',
  'auth/metadata-var2',
  'auth/metadata-var3',
  'auth/basic-cimd',
  'auth/scope-from-www-authenticate',
  'auth/scope-from-scopes-supported',
  'auth/scope-omitted-when-undefined',
  'auth/scope-step-up',
  'auth/scope-retry-limit',
  'auth/token-endpoint-auth-basic',
  'auth/token-endpoint-auth-post',
  'auth/token-endpoint-auth-none',
  'auth/pre-registration',
]

/** The scored scenarios each revision must run (the runner may add more; all scored ones must pass). */
const SCORED: Record<Revision, string[]> = {
  '2025-11-25': ['initialize', 'tools_call', ...AUTH_BOTH],
  '2026-07-28': [
    'tools_call',
    'request-metadata',
    ...AUTH_BOTH,
    'auth/resource-mismatch',
    'auth/offline-access-scope',
    'auth/offline-access-not-supported',
    'auth/authorization-server-migration',
    'auth/iss-supported',
    'auth/iss-not-advertised',
    'auth/iss-supported-missing',
    'auth/iss-wrong-issuer',
    'auth/iss-unexpected',
    'auth/iss-normalized',
    'auth/metadata-issuer-mismatch',
    'sep-2322-client-request-state',
    'http-standard-headers',
    'http-custom-headers',
    'http-invalid-tool-headers',
    'json-schema-ref-no-deref',
  ],
}

describe.each(['2025-11-25', '2026-07-28'] as const)(`official MCP conformance suite ${SUITE_VERSION}, client leg --requirements %s, through airmcp bridge`, (revision) => {
  it('passes every scored scenario', async () => {
    const run = await runClientSuite(COMMAND, revision)
    // The runner starts every scenario at once; on a loaded machine a timing-bound scenario (sse-retry,
    // elicitation, multi-round) can miss its server's deadline. Such a one runs again alone, once, and says so.
    const retried: string[] = []
    for (const [scenario] of failing(run.scored)) {
      const alone = await runClientScenario(COMMAND, scenario, revision)
      if (alone) run.scored.set(scenario, alone)
      retried.push(`${scenario} (alone: ${alone ?? 'no result'})`)
    }
    if (retried.length) console.info(`client leg ${revision}: ran again alone: ${retried.join(', ')}`)
    const report = [...run.scored].map(([scenario, counts]) => `  ${scenario}: ${counts}`).join('\n')
    const notScored = [...run.notScored].map(([scenario, counts]) => `  ${scenario}: ${counts} (not scored)`).join('\n')
    console.info(`client leg ${revision} through airmcp bridge: scored ${tally(run.scored)}\n${report}\n${notScored}`)
    expect([...run.scored.keys()], run.output.slice(-3000)).toEqual(expect.arrayContaining(SCORED[revision]))
    expect(failing(run.scored), run.output.slice(-5000)).toEqual([])
  }, 1_500_000)
})
