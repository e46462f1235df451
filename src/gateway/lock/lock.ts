import { existsSync, readFileSync, unwatchFile, watchFile } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { lockVerdict, parseLock, type LockFile } from './lock-file.js'
import { log } from '../../telemetry/log.js'
import type { Upstream } from '../upstreams/index.js'

/** A tool or prompt the lock holds back, with the reason, as `/health` and metrics show it. */
export interface HeldItem {
  server: string
  upstream: string
  kind: 'tool' | 'prompt'
  name: string
  reason: string
}

type GatedKind = 'tools' | 'prompts'

/**
 * The lock file the `lock` option names (the gateway passes `AIRMCP_LOCK` when its code sets none), as an
 * absolute path. A relative path is found from the
 * cwd or, like stdio commands, from the folders of the gateway's entry script (so `'../airmcp.lock'`
 * works whether the gateway runs from `gateway/` or from the workspace root).
 */
export function lockPathFrom(path: string | undefined, entry = process.argv[1]): string | undefined {
  if (!path || isAbsolute(path)) return path
  const candidates = [process.cwd()]
  for (let dir = entry ? dirname(resolve(entry)) : ''; dir && candidates.length < 4; dir = dirname(dir)) candidates.push(dir)
  return candidates.map((dir) => resolve(dir, path)).find((file) => existsSync(file)) ?? resolve(path)
}

function readLock(file: string): LockFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(
      code === 'ENOENT'
        ? `Lock file "${file}" does not exist. Try this: run \`airmcp lock\` at the workspace root, or drop the gateway's lock option (AIRMCP_LOCK).`
        : `Lock file "${file}" cannot be read: ${(error as Error).message}`,
    )
  }
  return parseLock(text, file)
}

/**
 * The gateway's side of `airmcp.lock`: a tool or prompt whose definition differs from the lock, or that
 * the lock does not know, is held back (`quarantine`) or only reported (`warn`). The file is watched, so
 * `airmcp lock --update` after a review brings held tools back without a restart.
 */
export class LockGate {
  private lock: LockFile
  /** Per list an upstream sent (a new array on every refresh), what was admitted under which lock. */
  private readonly verdicts = new WeakMap<object[], { generation: number; admitted: object[]; held: HeldItem[] }>()
  private generation = 0
  private readonly heldBy = new Map<string, HeldItem[]>()
  private readonly reported = new Set<string>()
  private watching = false

  constructor(
    readonly file: string,
    readonly mode: 'quarantine' | 'warn',
    /** Called after the lock file changed and was read again. */
    private readonly onReload: () => void,
  ) {
    this.lock = readLock(file)
  }

  /** Re-reads the lock when the file changes (polling survives the atomic rename `airmcp lock` does). */
  watch(intervalMs = 500): void {
    if (this.watching) return
    this.watching = true
    watchFile(this.file, { interval: intervalMs, persistent: false }, (now, before) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size) return
      try {
        this.lock = readLock(this.file)
      } catch (error) {
        log('error', `Keeping the previous lock: ${(error as Error).message}`, { component: 'gateway' })
        return
      }
      this.generation++
      this.heldBy.clear()
      this.reported.clear()
      log('info', `Lock "${this.file}" reloaded`, { component: 'gateway' })
      this.onReload()
    })
  }

  close(): void {
    if (this.watching) unwatchFile(this.file)
    this.watching = false
  }

  /** What of an upstream's tools or prompts the lock lets through; remembers (and logs once) the rest. */
  admit<K extends GatedKind>(upstream: Upstream, kind: K): Upstream[K] {
    const items = upstream[kind] as object[]
    let verdict = this.verdicts.get(items)
    if (verdict?.generation !== this.generation) {
      verdict = { generation: this.generation, ...this.judge(upstream, kind, items) }
      this.verdicts.set(items, verdict)
    }
    this.heldBy.set(`${upstream.id}\u0000${kind}`, verdict.held)
    return (this.mode === 'quarantine' ? verdict.admitted : items) as Upstream[K]
  }

  private judge(upstream: Upstream, kind: GatedKind, items: object[]) {
    const admitted: object[] = []
    const held: HeldItem[] = []
    for (const item of items) {
      const reason = lockVerdict(this.lock, upstream.pool, kind, item as Record<string, unknown>)
      if (reason === undefined) {
        admitted.push(item)
        continue
      }
      const name = String((item as { name?: unknown }).name)
      const entry: HeldItem = { server: upstream.pool, upstream: upstream.id, kind: kind === 'tools' ? 'tool' : 'prompt', name, reason }
      held.push(entry)
      const key = `${upstream.id}\u0000${kind}\u0000${name}\u0000${reason}`
      if (!this.reported.has(key)) {
        this.reported.add(key)
        const action = this.mode === 'quarantine' ? 'held back' : 'exposed although it differs from the lock'
        log('warn', `${entry.kind} "${name}" of "${upstream.pool}" (${upstream.id}) ${action}: ${reason}`, {
          component: 'gateway',
          server: upstream.pool,
          tool: entry.kind === 'tool' ? name : undefined,
          reason,
          lock: this.file,
        })
      }
    }
    return { admitted, held }
  }

  /** Every held item, for `/health` and `airmcp_tools_quarantined`. */
  held(): HeldItem[] {
    return [...this.heldBy.values()].flat()
  }

  /** Why a tool a client asked for is held back (undefined when it is not). */
  explain(name: string): string | undefined {
    const item = this.held().find((h) => h.kind === 'tool' && h.name === name)
    if (!item || this.mode !== 'quarantine') return undefined
    return (
      `Tool "${name}" of server "${item.server}" is held back by the lock: ${item.reason}. ` +
      `Try this: review the change, then run \`airmcp lock --update\` (lock: ${this.file}).`
    )
  }
}
