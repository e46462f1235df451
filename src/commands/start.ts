import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { BaseCommand } from '../cli/base-command.js'
import { AirmcpError } from '../errors.js'
import { findWorkspaceRoot } from '../workspace/root.js'

interface Managed {
  label: string
  child: ChildProcess
  /** Resolves when the process says it listens, or exits. */
  ready: Promise<void>
}

export default class Start extends BaseCommand {
  static override enableJsonFlag = false
  static override summary = 'Run the built workspace: every SSE/HTTP server, then the gateway (which launches stdio servers).'
  static override description = 'Output lines are prefixed with the server name. Ctrl-C stops everything.'
  static override examples = ['<%= config.bin %> start', 'npm run build && <%= config.bin %> start']

  async run(): Promise<void> {
    await this.parse(Start)
    const root = findWorkspaceRoot()
    const { readWorkspace } = await import('../workspace/index.js')
    const networked = (await readWorkspace(root)).servers.filter((server) => server.transport.type !== 'stdio')
    const entries = [...networked.map((s) => ({ label: s.name, dir: join(root, s.dir) })), { label: 'gateway', dir: join(root, 'gateway') }]
    for (const entry of entries) {
      if (!existsSync(join(entry.dir, 'dist/index.js'))) {
        throw new AirmcpError('NOT_BUILT', `"${join(entry.dir, 'dist/index.js')}" does not exist.`, 'build first: npm run build')
      }
    }
    const running: Managed[] = []
    const stopAll = (code: number) => {
      for (const { child } of running) if (child.exitCode === null) child.kill('SIGTERM')
      process.exitCode = code
    }
    process.once('SIGINT', () => stopAll(0))
    process.once('SIGTERM', () => stopAll(0))
    for (const entry of entries) {
      const isGateway = entry.label === 'gateway'
      const managed = launch(entry.label, entry.dir)
      running.push(managed)
      managed.child.once('exit', (code, signal) => {
        if (process.exitCode === undefined) {
          this.logToStderr(`[${entry.label}] exited (${signal ?? code}); stopping the others.`)
          stopAll(code || 1)
        }
      })
      // Servers first, each ready before the next: the gateway then connects on its first try.
      if (!isGateway) await managed.ready
    }
    await Promise.all(running.map(({ child }) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)))))
  }
}

function launch(label: string, cwd: string): Managed {
  const child = spawn(process.execPath, ['dist/index.js'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => (markReady = resolve))
  child.once('exit', () => markReady())
  createInterface({ input: child.stdout! }).on('line', (line) => process.stdout.write(`[${label}] ${line}\n`))
  createInterface({ input: child.stderr! }).on('line', (line) => {
    process.stderr.write(`[${label}] ${line}\n`)
    if (/listening on /.test(line)) markReady()
  })
  return { label, child, ready }
}
