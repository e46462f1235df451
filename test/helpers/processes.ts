import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

/** A port the OS just gave out on 127.0.0.1 (the CLI's own probe), for processes that must be told one up front. */
export { freePort } from '../../src/fleet/ports.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** `node --import tsx` so TypeScript fixtures run as they are. */
export const TSX_NODE_ARGS = ['--import', 'tsx']

const started = new Set<ChildProcess>()

/** Kills every process a test started (its whole group), waiting until each has exited. */
export async function killAll(): Promise<void> {
  await Promise.all([...started].map((child) => killProcess(child)))
}

/**
 * Asks a process to stop (SIGTERM to it alone, so it can shut down cleanly), then kills whatever is left
 * of its group; a process that ignores SIGTERM for 5 s is killed outright.
 */
export async function killProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  started.delete(child)
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit')
    child.kill(signal)
    const force = setTimeout(() => killGroup(child), 5000)
    await exited
    clearTimeout(force)
  }
  killGroup(child)
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL')
  } catch {
    // The group is already gone.
  }
}

export interface Started {
  child: ChildProcess
  url: string
  stderr: () => string
  stdout: () => string
}

/**
 * Starts a process in its own group and resolves with the first URL it announces on stderr
 * (`... listening on http://...`): readiness from the process itself, never a sleep.
 */
export async function startListening(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; pattern?: RegExp } = {},
): Promise<Started> {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  started.add(child)
  let stderr = ''
  let stdout = ''
  child.stdout!.on('data', (chunk) => (stdout += String(chunk)))
  const pattern = options.pattern ?? /listening on (http:\/\/[^\s"]+)/
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! })
    lines.on('line', (line) => {
      stderr += `${line}\n`
      const match = pattern.exec(line)
      if (match) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`process exited with ${code} before listening:\n${stderr}`)))
  })
  return { child, url, stderr: () => stderr, stdout: () => stdout }
}
