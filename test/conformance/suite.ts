import { execFile } from 'node:child_process'

/** The official suite, pinned; it needs Node 22, so npx brings node@22 and the suite from the npm registry. */
export const SUITE_VERSION = '0.2.0-alpha.12'
const SUITE = ['-y', '-p', 'node@22', '-p', `@modelcontextprotocol/conformance@${SUITE_VERSION}`, '--', 'conformance', 'server']

/** A protocol revision whose frozen requirement set the suite runs. */
export type Revision = '2025-11-25' | '2026-07-28'

export interface SuiteRun {
  code: number
  output: string
  /** Scenario → "N passed, M failed", for the scenarios that count towards conformance. */
  scored: Map<string, string>
  /** The same for the scenarios the suite runs but does not score (extensions, pending). */
  notScored: Map<string, string>
}

/** Runs the suite's requirement set of `revision` against `url`. */
export function runSuite(url: string, revision: Revision): Promise<SuiteRun> {
  return run([...SUITE, '--url', url, '--requirements', revision], 300_000)
}

/**
 * Runs the client leg's requirement set of `revision` with `command` as the client (the runner appends the
 * server URL). The runner starts every scenario at once; its per-client timeout is lifted to match.
 */
export function runClientSuite(command: string, revision: Revision): Promise<SuiteRun> {
  const client = SUITE.with(-1, 'client')
  return run([...client, '--command', command, '--requirements', revision, '--timeout', '600000'], 900_000)
}

/** One client scenario alone (no other scenario competing for the CPU): "N passed, M failed". */
export function runClientScenario(command: string, scenario: string, revision: Revision): Promise<string | undefined> {
  const client = SUITE.with(-1, 'client')
  return new Promise((resolve) => {
    execFile(
      'npx',
      [...client, '--command', command, '--scenario', scenario, '--spec-version', revision, '--timeout', '300000'],
      { timeout: 400_000, maxBuffer: 64 * 1024 * 1024 },
      (_error, stdout, stderr) => {
        const counts = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(`${stdout}\n${stderr}`)
        resolve(counts ? `${counts[1]} passed, ${counts[3]} failed` : undefined)
      },
    )
  })
}

function run(args: string[], timeout: number): Promise<SuiteRun> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      args,
      { timeout, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const output = `${stdout}\n${stderr}`
        // Scenario names: `tools_call`, `auth/metadata-default`.
        const rows = new Map([...output.matchAll(/^[✓✗] ([\w/-]+): (\d+ passed, \d+ failed)/gmu)].map(([, s, counts]) => [s, counts]))
        const unscoredNames = new Set([...output.matchAll(/^ {2}[✓✗] ([\w/-]+) \(/gmu)].map(([, s]) => s))
        const scored = new Map([...rows].filter(([s]) => !unscoredNames.has(s)))
        const notScored = new Map([...rows].filter(([s]) => unscoredNames.has(s)))
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output, scored, notScored })
      },
    )
  })
}

/** The Tasks extension's scenarios (SEP-2663): run by the 2026-07-28 set, not scored. */
export const TASKS_SCENARIOS = [
  'tasks-lifecycle',
  'tasks-capability-negotiation',
  'tasks-wire-fields',
  'tasks-request-state-removal',
  'tasks-mrtr-input',
  'tasks-request-headers',
  'tasks-dispatch-and-envelope',
  'tasks-status-notifications',
  'tasks-required-task-error',
  'tasks-mrtr-composition',
]

/** Each Tasks scenario's counts, for an assertion that they all ran and passed. */
export function tasksResults(run: SuiteRun): Record<string, string | undefined> {
  return Object.fromEntries(TASKS_SCENARIOS.map((scenario) => [scenario, run.notScored.get(scenario)]))
}

const AUTH_BOTH_REVISIONS = [
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

/** The client leg's scored scenarios each revision must run (the runner may add more; all scored ones must pass). */
export const CLIENT_SCORED: Record<Revision, string[]> = {
  '2025-11-25': ['initialize', 'tools_call', ...AUTH_BOTH_REVISIONS],
  '2026-07-28': [
    'tools_call',
    'request-metadata',
    ...AUTH_BOTH_REVISIONS,
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

/**
 * The client leg of `revision` with `command` as the client, every scenario at once; on a loaded machine a
 * timing-bound scenario can miss its server's deadline, so one that fails runs again alone, once, and the
 * report says so. Returns the run (its counts updated) and the report (console.info'd by the caller).
 */
export async function runClientLeg(command: string, revision: Revision, through: string): Promise<{ run: SuiteRun; report: string }> {
  const run = await runClientSuite(command, revision)
  const retried: string[] = []
  for (const [scenario] of failing(run.scored)) {
    const alone = await runClientScenario(command, scenario, revision)
    if (alone) run.scored.set(scenario, alone)
    retried.push(`${scenario} (alone: ${alone ?? 'no result'})`)
  }
  const scored = [...run.scored].map(([scenario, counts]) => `  ${scenario}: ${counts}`).join('\n')
  const notScored = [...run.notScored].map(([scenario, counts]) => `  ${scenario}: ${counts} (not scored)`).join('\n')
  const again = retried.length ? `\nran again alone: ${retried.join(', ')}` : ''
  return { run, report: `client leg ${revision} through ${through}: scored ${tally(run.scored)}${again}\n${scored}\n${notScored}` }
}

/** Scenarios with a failed check. */
export function failing(results: Map<string, string>): [string, string][] {
  return [...results].filter(([, counts]) => !counts.endsWith(' 0 failed'))
}

/** "passed/total" over scenarios, for reports. */
export function tally(results: Map<string, string>): string {
  return `${results.size - failing(results).length}/${results.size}`
}
