import { spawn } from 'node:child_process'
import { AirmcpError } from '../errors.js'

export const PACKAGE_MANAGERS = ['npm', 'pnpm', 'yarn', 'bun'] as const
export type PackageManager = (typeof PACKAGE_MANAGERS)[number]

/** The package manager that launched us (`npm_config_user_agent`), npm by default. */
export function detectPackageManager(agent = process.env.npm_config_user_agent ?? ''): PackageManager {
  return PACKAGE_MANAGERS.find((pm) => agent.startsWith(`${pm}/`)) ?? 'npm'
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', (error) => resolve({ code: -1, output: error.message }))
    child.on('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

/** Installs the workspace's dependencies, with a progress line; a failure says how to retry. */
export async function runInstall(pm: PackageManager, cwd: string, note: (message: string) => void): Promise<void> {
  note(`Installing dependencies with ${pm}…`)
  const started = Date.now()
  const ticker = setInterval(() => note(`  still installing (${Math.round((Date.now() - started) / 1000)} s)…`), 10_000)
  const { code, output } = await run(pm, ['install'], cwd).finally(() => clearInterval(ticker))
  if (code !== 0) {
    const tail = output.trim().split('\n').slice(-15).join('\n')
    throw new AirmcpError('INSTALL_FAILED', `${pm} install failed in "${cwd}" (exit ${code}):\n${tail}`, `cd ${cwd} && ${pm} install`)
  }
  note(`Installed in ${Math.round((Date.now() - started) / 100) / 10} s.`)
}

/** `git init` when git is there; false (not an error) when it is not. */
export async function runGitInit(cwd: string): Promise<boolean> {
  const { code } = await run('git', ['init', '-q'], cwd)
  return code === 0
}
