import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from './processes.js'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the built CLI (`bin/run.js`, or `cli`: an installed copy) as a user would, with no TTY (on `node`, if given). */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; cli?: string; node?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(options.node ?? process.execPath, [options.cli ?? join(ROOT, 'bin/run.js'), ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
  })
}
