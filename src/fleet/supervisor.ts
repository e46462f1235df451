import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { waitForHealth } from './health.js'
import type { PrefixedOutput } from './output.js'

/** One process to keep running: `node <entry>` in `cwd`, ready when `healthUrl` answers. */
export interface ChildSpec {
  name: string
  cwd: string
  entry: string
  env: NodeJS.ProcessEnv
  healthUrl: string
  /** Open an IPC channel (the gateway: registration changes, reconnects, and it stops when we are gone). */
  ipc?: boolean
}

/** A child that exited (or never answered) before it was ready: its last lines say why. */
export class StartupError extends Error {
  constructor(
    readonly child: string,
    readonly reason: string,
    readonly lastLines: string[],
  ) {
    super(`"${child}" ${reason}${lastLines.length ? `: ${lastLines.at(-1)}` : ''}`)
  }
}

interface Managed {
  spec: ChildSpec
  process: ChildProcess | undefined
  /** Set while we stop it on purpose: its exit is not a crash. */
  stopping: boolean
  restarts: number
  startedAt: number
  lastLines: string[]
  restartTimer: NodeJS.Timeout | undefined
  pending: Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>
}

/** Delays before restart 1, 2, 3 …; a child that stayed up for a minute starts again from the first. */
const RESTART_DELAYS = [250, 500, 1000, 2000, 5000, 10_000]
const STABLE_MS = 60_000
const STOP_GRACE_MS = 5000

/**
 * Runs one process per server (each in its own process group), prefixes their lines, restarts a crashed
 * one with backoff while the others keep serving, and stops every group on `stopAll()`. Like foreman or
 * overmind, with readiness from each process's `/health` rather than from its log lines.
 */
export class Supervisor {
  private readonly children = new Map<string, Managed>()
  private seq = 0
  private shuttingDown = false
  /** Called after a crashed child was restarted and answers again. */
  onRestarted: (name: string) => void = () => {}

  constructor(private readonly output: PrefixedOutput) {}

  has(name: string): boolean {
    return this.children.has(name)
  }

  /** The process id of a running child (it changes when the child restarts). */
  pid(name: string): number | undefined {
    return this.children.get(name)?.process?.pid
  }

  names(): string[] {
    return [...this.children.keys()]
  }

  /** Starts a child and resolves once it answers its health URL; rejects with a StartupError otherwise. */
  async start(spec: ChildSpec): Promise<void> {
    // A second start under the same name (two watch events for one new server) restarts it: replacing the
    // entry would leave the first child running where no stop reaches it.
    if (this.children.has(spec.name)) return this.restart(spec.name, spec)
    const managed: Managed = {
      spec,
      process: undefined,
      stopping: false,
      restarts: 0,
      startedAt: 0,
      lastLines: [],
      restartTimer: undefined,
      pending: new Map(),
    }
    this.children.set(spec.name, managed)
    await this.launch(managed)
  }

  private async launch(managed: Managed): Promise<void> {
    const { spec } = managed
    const child = spawn(process.execPath, [spec.entry], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true, // its own process group: Ctrl-C reaches us only, and we stop the whole group
      stdio: ['ignore', 'pipe', 'pipe', ...(spec.ipc ? (['ipc'] as const) : [])],
    })
    managed.process = child
    managed.stopping = false
    managed.startedAt = Date.now()
    managed.lastLines = []
    const remember = (line: string) => {
      if (line.trim()) managed.lastLines = [...managed.lastLines.slice(-4), line]
    }
    this.output.follow(spec.name, child.stdout!, 'stdout', remember)
    this.output.follow(spec.name, child.stderr!, 'stderr', remember)
    child.on('message', (message: { airmcp?: string; seq?: number; result?: unknown; error?: string }) => {
      const waiting = message?.airmcp === 'reply' ? managed.pending.get(message.seq!) : undefined
      if (!waiting) return
      managed.pending.delete(message.seq!)
      if (message.error) waiting.reject(new Error(message.error))
      else waiting.resolve(message.result)
    })
    let exited: string | undefined
    let ready = false
    child.once('error', (error) => (exited = `could not be started: ${error.message}`))
    child.once('exit', (code, signal) => {
      exited = `exited (${signal ?? `code ${code}`}) before it was ready`
      this.killGroup(child, 'SIGKILL')
      for (const waiting of managed.pending.values()) waiting.reject(new Error(`"${spec.name}" exited`))
      managed.pending.clear()
      if (managed.process === child) managed.process = undefined
      if (!managed.stopping && !this.shuttingDown && ready) this.crashed(managed, signal ?? `code ${code}`)
    })
    try {
      await waitForHealth(spec.healthUrl, () => exited)
      ready = true
    } catch (error) {
      this.killGroup(child, 'SIGKILL')
      throw new StartupError(spec.name, (error as Error).message, managed.lastLines)
    }
  }

  private crashed(managed: Managed, how: string): void {
    if (Date.now() - managed.startedAt > STABLE_MS) managed.restarts = 0
    const delay = RESTART_DELAYS[Math.min(managed.restarts, RESTART_DELAYS.length - 1)]
    managed.restarts++
    this.output.line(managed.spec.name, `exited (${how}); restarting in ${delay} ms (restart ${managed.restarts})`, 'stderr')
    managed.restartTimer = setTimeout(() => {
      if (this.shuttingDown || !this.children.has(managed.spec.name)) return
      this.launch(managed).then(
        () => this.onRestarted(managed.spec.name),
        (error: Error) => {
          this.output.line(managed.spec.name, `restart failed: ${error.message}`, 'stderr')
          if (!this.shuttingDown && !managed.stopping) this.crashed(managed, 'not ready')
        },
      )
    }, delay)
  }

  /** Stops a child (its whole process group), then starts it again (as `spec` says, if given) and waits until it answers. */
  async restart(name: string, spec?: ChildSpec): Promise<void> {
    const managed = this.children.get(name)
    if (!managed) return
    await this.stopOne(managed)
    managed.restarts = 0
    if (spec) managed.spec = spec
    await this.launch(managed)
  }

  /** Stops a child for good and forgets it. */
  async remove(name: string): Promise<void> {
    const managed = this.children.get(name)
    if (!managed) return
    this.children.delete(name)
    await this.stopOne(managed)
  }

  /** Sends an IPC request to a child (the gateway) and resolves with its reply. */
  request(name: string, message: Record<string, unknown>, timeoutMs = 30_000): Promise<unknown> {
    const managed = this.children.get(name)
    const child = managed?.process
    if (!managed || !child?.connected) return Promise.reject(new Error(`"${name}" is not running`))
    const seq = ++this.seq
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        managed.pending.delete(seq)
        reject(new Error(`"${name}" did not answer ${String(message.airmcp)} within ${timeoutMs / 1000} s`))
      }, timeoutMs)
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer)
        fn(value)
      }
      managed.pending.set(seq, { resolve: settle(resolve), reject: settle(reject) })
      child.send({ ...message, seq })
    })
  }

  private async stopOne(managed: Managed): Promise<void> {
    clearTimeout(managed.restartTimer)
    managed.stopping = true
    const child = managed.process
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    this.killGroup(child, 'SIGTERM')
    const force = setTimeout(() => this.killGroup(child, 'SIGKILL'), STOP_GRACE_MS)
    await exited
    clearTimeout(force)
  }

  private killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      process.kill(-child.pid!, signal)
    } catch {
      // The group is gone already.
    }
  }

  /** Stops every child's process group (SIGTERM, then SIGKILL after 5 s); no restarts from here on. */
  async stopAll(): Promise<void> {
    this.shuttingDown = true
    await Promise.all([...this.children.values()].map((managed) => this.stopOne(managed)))
  }

  /** SIGKILL to every group at once (a second Ctrl-C). */
  killAll(): void {
    this.shuttingDown = true
    for (const managed of this.children.values()) if (managed.process) this.killGroup(managed.process, 'SIGKILL')
  }
}
