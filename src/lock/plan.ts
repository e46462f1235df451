import type { Tree } from '../tree/tree.js'
import { compareLocks, lockServer, parseLock, renderLock, type LockChange, type LockFile, type ServerInventory } from '../gateway/lock/lock-file.js'

export const LOCK_FILE = 'airmcp.lock'

export interface LockPlanOptions {
  /** What each server offers now, by server name (its folder under servers/). */
  inventories: Record<string, ServerInventory>
  /** Accept the differences (write the lock even when it exists and differs). */
  update: boolean
}

export interface LockPlan {
  file: string
  /** `created`: there was no lock; `unchanged`: it matches; `changed`: it differs (written only with update). */
  status: 'created' | 'unchanged' | 'changed'
  changes: LockChange[]
  /** Whether the tree now holds a new lock file. */
  written: boolean
}

/** The lock the inventories make. */
export function buildLock(inventories: Record<string, ServerInventory>): LockFile {
  return {
    lockfileVersion: 1,
    servers: Object.fromEntries(Object.entries(inventories).map(([name, inventory]) => [name, lockServer(inventory)])),
  }
}

/**
 * Plans `airmcp.lock` on the virtual tree: a new lock is written; an existing one is compared item by
 * item, and replaced only when `update` accepts the differences.
 */
export function planLock(tree: Tree, options: LockPlanOptions): LockPlan {
  const next = buildLock(options.inventories)
  const text = tree.read(LOCK_FILE)
  if (text === undefined) {
    tree.write(LOCK_FILE, renderLock(next))
    return { file: LOCK_FILE, status: 'created', changes: compareLocks({ lockfileVersion: 1, servers: {} }, next), written: true }
  }
  const changes = compareLocks(parseLock(text, LOCK_FILE), next)
  if (changes.length === 0) {
    return { file: LOCK_FILE, status: 'unchanged', changes, written: false }
  }
  if (options.update) tree.write(LOCK_FILE, renderLock(next))
  return { file: LOCK_FILE, status: 'changed', changes, written: options.update }
}

const KIND_NAMES = { tools: 'tool', prompts: 'prompt', resourceTemplates: 'resource template' } as const

function show(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value)
}

/** Human lines for the changes: `~ tool search/search` with `- before` / `+ after` per field. */
export function describeChanges(changes: LockChange[]): string[] {
  const lines: string[] = []
  for (const change of changes) {
    const mark = change.change === 'added' ? '+' : change.change === 'removed' ? '-' : '~'
    lines.push(`${mark} ${KIND_NAMES[change.kind]} ${change.server}/${change.item} ${change.change}`)
    if (change.change !== 'changed') continue
    for (const field of change.fields) {
      lines.push(`    ${field.field}:`, `    - ${show(field.before)}`, `    + ${show(field.after)}`)
    }
  }
  return lines
}
