import { createHash } from 'node:crypto'

/**
 * `airmcp.lock`: what each server offered when it was last reviewed. Per server and per item (tool,
 * prompt, resource template) a hash of the fields a client's model reads, and those fields themselves so
 * a reviewer (and `lock --check`) can show what changed.
 */
export interface LockFile {
  lockfileVersion: 1
  servers: Record<string, ServerLock>
}

export type LockKind = 'tools' | 'prompts' | 'resourceTemplates'
export const LOCK_KINDS: readonly LockKind[] = ['tools', 'prompts', 'resourceTemplates']

export type ServerLock = Record<LockKind, Record<string, LockedItem>>

/** One item: its hash and the readable fields that make it. */
export interface LockedItem {
  hash: string
  fields: Record<string, unknown>
}

/** What a server offers, as an MCP client lists it. */
export interface ServerInventory {
  tools: Record<string, unknown>[]
  prompts: Record<string, unknown>[]
  resourceTemplates: Record<string, unknown>[]
}

/** The fields of each kind that are locked: what a model reads and what shapes the calls it makes. */
const LOCKED_FIELDS: Record<LockKind, string[]> = {
  tools: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  prompts: ['name', 'title', 'description', 'arguments'],
  resourceTemplates: ['uriTemplate', 'name', 'title', 'description', 'mimeType', 'annotations'],
}

/** The key of an item in its kind: a tool's or prompt's name, a template's URI template. */
export function itemKey(kind: LockKind, item: Record<string, unknown>): string {
  return String(kind === 'resourceTemplates' ? item.uriTemplate : item.name)
}

/** JSON with object keys sorted at every depth: the same item always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** The locked fields of an item (absent ones left out). */
export function lockedFields(kind: LockKind, item: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const key of LOCKED_FIELDS[kind]) if (item[key] !== undefined) fields[key] = item[key]
  return fields
}

/** `sha256-<base64>` of the canonical JSON of an item's locked fields. */
export function hashItem(kind: LockKind, item: Record<string, unknown>): string {
  return `sha256-${createHash('sha256').update(canonicalJson(lockedFields(kind, item))).digest('base64')}`
}

/** The lock entries of one server's inventory, items sorted by key. */
export function lockServer(inventory: ServerInventory): ServerLock {
  const lock = {} as ServerLock
  for (const kind of LOCK_KINDS) {
    const items = [...inventory[kind]].sort((a, b) => itemKey(kind, a).localeCompare(itemKey(kind, b)))
    lock[kind] = Object.fromEntries(
      items.map((item) => [itemKey(kind, item), { hash: hashItem(kind, item), fields: lockedFields(kind, item) }]),
    )
  }
  return lock
}

/** The lock file's text: stable key order, two-space indent, final newline (diffs stay small). */
export function renderLock(lock: LockFile): string {
  const servers = Object.fromEntries(Object.keys(lock.servers).sort().map((name) => [name, lock.servers[name]]))
  return `${JSON.stringify({ lockfileVersion: 1, servers }, null, 2)}\n`
}

/** Parses a lock file's text; throws an error naming the file and the fix when it is not one. */
export function parseLock(text: string, file: string): LockFile {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new Error(`"${file}" is not valid JSON: ${(error as Error).message}. Try this: run \`airmcp lock --update\` to rewrite it.`)
  }
  const lock = data as Partial<LockFile>
  if (lock?.lockfileVersion !== 1 || typeof lock.servers !== 'object' || lock.servers === null) {
    throw new Error(`"${file}" is not an airmcp lock (lockfileVersion 1 with "servers"). Try this: run \`airmcp lock --update\`.`)
  }
  for (const server of Object.values(lock.servers)) for (const kind of LOCK_KINDS) server[kind] ??= {}
  return lock as LockFile
}

/** One difference between the lock and what a server offers now. */
export interface LockChange {
  server: string
  kind: LockKind
  /** Tool or prompt name, or URI template. */
  item: string
  change: 'added' | 'removed' | 'changed'
  /** The fields that differ (changed items), or every field (added/removed). */
  fields: { field: string; before: unknown; after: unknown }[]
}

/** The difference between a locked item's fields and the current ones, field by field. */
function fieldChanges(before: Record<string, unknown>, after: Record<string, unknown>) {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
  return keys
    .filter((key) => canonicalJson(before[key]) !== canonicalJson(after[key]))
    .map((field) => ({ field, before: before[field], after: after[field] }))
}

/** Every added, removed or changed item of the servers in `current` (and removed servers), in order. */
export function compareLocks(locked: LockFile, current: LockFile): LockChange[] {
  const changes: LockChange[] = []
  const names = [...new Set([...Object.keys(locked.servers), ...Object.keys(current.servers)])].sort()
  for (const server of names) {
    for (const kind of LOCK_KINDS) {
      const before = locked.servers[server]?.[kind] ?? {}
      const after = current.servers[server]?.[kind] ?? {}
      for (const item of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
        const was = before[item]
        const now = after[item]
        if (was && now && was.hash === now.hash) continue
        changes.push({
          server,
          kind,
          item,
          change: !was ? 'added' : !now ? 'removed' : 'changed',
          fields: fieldChanges(was?.fields ?? {}, now?.fields ?? {}),
        })
      }
    }
  }
  return changes
}

/** Why an item is not what the lock says, for logs, `/health` and errors (undefined when it matches). */
export function lockVerdict(lock: LockFile, server: string, kind: LockKind, item: Record<string, unknown>): string | undefined {
  const key = itemKey(kind, item)
  const locked = lock.servers[server]?.[kind]?.[key]
  if (!lock.servers[server]) return `server "${server}" is not in the lock`
  if (!locked) return `${kind === 'tools' ? 'tool' : kind === 'prompts' ? 'prompt' : 'resource template'} "${key}" is not in the lock`
  if (locked.hash === hashItem(kind, item)) return undefined
  const changed = fieldChanges(locked.fields, lockedFields(kind, item)).map((c) => c.field)
  return `${changed.join(', ') || 'definition'} changed since the lock`
}
