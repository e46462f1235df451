import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * vitest globalSetup: every temp folder of this run (tests, generated workspaces, npm and tsx in child
 * processes) goes under one `airmcp-test-run-*` folder, removed when the run ends, so `npm test` leaves
 * nothing in the temp directory even when a test fails before its own clean-up.
 */
export default function setup(): () => void {
  const run = mkdtempSync(join(tmpdir(), 'airmcp-test-run-'))
  process.env.TMPDIR = run
  process.env.TEMP = run
  process.env.TMP = run
  // Paths under the run folder are longer: oclif must not wrap error lines that tests match on.
  process.env.OCLIF_COLUMNS ??= '1000'
  return () => {
    const left = readdirSync(run)
    if (left.length && process.env.AIRMCP_TEST_REPORT_TEMP) console.log(`[temp] left by tests (removed now): ${left.join(', ')}`)
    rmSync(run, { recursive: true, force: true })
  }
}
