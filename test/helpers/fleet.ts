import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { runCli } from './cli.js'
import { ROOT } from './processes.js'

/**
 * `airmcp new demo --example` (or `name`) in a fresh temp folder, without a network install: `airmcp`, `typescript`,
 * `vitest` and `@types/node` are linked from this repository. Returns the workspace root; `cleanup()` removes it.
 */
export async function makeExampleWorkspace(options: { example?: boolean; name?: string } = {}): Promise<{ root: string; cleanup: () => void }> {
  const parent = mkdtempSync(join(tmpdir(), 'airmcp-fleet-'))
  const name = options.name ?? 'demo'
  const created = await runCli(['new', name, ...(options.example === false ? [] : ['--example']), '--yes', '--no-git', '--no-install'], {
    cwd: parent,
  })
  if (created.code !== 0) throw new Error(`airmcp new failed:\n${created.stderr}`)
  const root = join(parent, name)
  mkdirSync(join(root, 'node_modules/@types'), { recursive: true })
  symlinkSync(ROOT, join(root, 'node_modules/airmcp'))
  for (const name of ['typescript', 'vitest', '@types/node']) symlinkSync(join(ROOT, 'node_modules', name), join(root, 'node_modules', name))
  return { root, cleanup: () => rmSync(parent, { recursive: true, force: true }) }
}

/** Compiles every package of the workspace with the linked tsc. */
export function buildWorkspace(root: string): void {
  const packages = ['gateway', ...readdirSync(join(root, 'servers'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `servers/${d.name}`)]
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', ...packages], { cwd: root, stdio: 'pipe' })
}

export interface FleetProcess {
  child: ChildProcess
  gatewayUrl: string
  stdout: () => string
  stderr: () => string
  /** Resolves with a line (stdout or stderr) matching `pattern`, one already printed included. */
  waitForLine(pattern: RegExp): Promise<string>
}

/** The binary of another Node major (22, 24), fetched once by npx into its cache (as the conformance tests fetch node@22). */
export function otherNode(major: number): string {
  return execFileSync('npx', ['-y', '-p', `node@${major}`, '--', 'node', '-p', 'process.execPath'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

/** The modification time of every package's `dist/index.js`: what a rebuild changes. */
export function distTimes(root: string): Record<string, number> {
  const dirs = ['gateway', ...readdirSync(join(root, 'servers')).map((name) => `servers/${name}`)]
  return Object.fromEntries(dirs.filter((dir) => existsSync(join(root, dir, 'dist/index.js'))).map((dir) => [dir, statSync(join(root, dir, 'dist/index.js')).mtimeMs]))
}

/**
 * Runs `airmcp <command> --free-ports` in the workspace (its own process group, no TTY) and resolves once
 * it prints `Gateway ready at <url>`: the supervisor says so only after every `/health` answered.
 */
export async function runFleet(
  root: string,
  command: 'start' | 'dev',
  env: NodeJS.ProcessEnv = {},
  cli = join(ROOT, 'bin/run.js'),
  node = process.execPath,
): Promise<FleetProcess> {
  const child = spawn(node, [cli, command, '--free-ports'], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  running.add(child)
  let stdout = ''
  let stderr = ''
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = []
  const onLine = (line: string) => {
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  }
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout += `${line}\n`
    onLine(line)
  })
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr += `${line}\n`
    onLine(line)
  })
  const waitForLine = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const seen = `${stdout}${stderr}`.split('\n').find((line) => pattern.test(line))
      if (seen) return resolve(seen)
      waiters.push({ pattern, resolve })
      child.once('exit', (code) => reject(new Error(`airmcp ${command} exited (${code}) before printing ${pattern}:\n${stdout}\n${stderr}`)))
    })
  const ready = await waitForLine(/Gateway ready at (http:\/\/\S+)/)
  return { child, gatewayUrl: /Gateway ready at (http:\/\/\S+)/.exec(ready)![1], stdout: () => stdout, stderr: () => stderr, waitForLine }
}

const running = new Set<ChildProcess>()

/** Ctrl-C for a fleet: SIGINT to the supervisor alone (it stops its children), resolving with its exit code. */
export async function interrupt(child: ChildProcess): Promise<number | null> {
  running.delete(child)
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  const exited = once(child, 'exit')
  child.kill('SIGINT')
  const [code] = await exited
  return code as number | null
}

/** Test clean-up: a fleet still running is interrupted, then killed with its group. */
export async function stopFleets(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const force = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          // Gone.
        }
      }, 10_000)
      await interrupt(child)
      clearTimeout(force)
    }),
  )
}

/** Processes (other than us) whose working directory is inside `root`: what a fleet would leave behind. */
export function processesIn(root: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`)
      if (cwd === root || cwd.startsWith(`${root}/`)) {
        found.push({ pid: Number(entry), command: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() })
      }
    } catch {
      // Exited meanwhile, or not ours to read.
    }
  }
  return found
}

/** `.airmcp/fleet.json` of the running fleet. */
export function fleetState(root: string): { gateway: { url: string; port: number; pid: number }; servers: { name: string; port: number; pid: number }[] } {
  return JSON.parse(readFileSync(join(root, '.airmcp/fleet.json'), 'utf8'))
}
