import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Tree } from './tree.js'

export interface FlushOptions {
  /** Where backups of changes marked `backup` go (default: `~/.airmcp/backups`). */
  backupDir?: string
  now?: Date
}

export interface FlushResult {
  /** Each backed-up file and where its copy is. */
  backups: { path: string; backup: string }[]
}

/** `~/.airmcp/backups`: outside every project, so backups never litter a workspace or its git status. */
export function defaultBackupDir(home = process.env.HOME || process.env.USERPROFILE || ''): string {
  return join(home, '.airmcp', 'backups')
}

/** `<backupDir>/<timestamp>/<the file's absolute path>`: one folder per run, no two files collide. */
export function backupPath(backupDir: string, file: string, now: Date): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-')
  return join(backupDir, stamp, file.replace(/^([A-Za-z]):/, '$1').replace(/^[\\/]+/, ''))
}

function backUp(tree: Tree, options: FlushOptions): FlushResult['backups'] {
  const backups: FlushResult['backups'] = []
  const now = options.now ?? new Date()
  for (const change of tree.listChanges()) {
    const original = tree.original(change.path)
    if (!change.backup || original === undefined) continue
    const path = tree.resolve(change.path)
    const backup = backupPath(options.backupDir ?? defaultBackupDir(), path, now)
    mkdirSync(dirname(backup), { recursive: true })
    copyFileSync(path, backup)
    backups.push({ path, backup })
  }
  return backups
}

/**
 * Writes a tree's changes: backups first, then every file to a temp file beside its target (keeping an
 * existing file's mode), and only when all are written are they renamed into place, so a failure leaves
 * no partial file behind. An in-memory tree is updated in memory.
 */
export function flushTree(tree: Tree, options: FlushOptions = {}): FlushResult {
  const changes = tree.listChanges()
  if (tree.memory) {
    for (const change of changes) {
      if (change.type === 'DELETE') tree.memory.delete(tree.resolve(change.path))
      else tree.memory.set(tree.resolve(change.path), change.content!)
    }
    tree.clear()
    return { backups: [] }
  }
  const backups = backUp(tree, options)
  const staged: { temp: string; target: string }[] = []
  try {
    for (const change of changes) {
      if (change.type === 'DELETE') continue
      const target = tree.resolve(change.path)
      mkdirSync(dirname(target), { recursive: true })
      const temp = `${target}.airmcp-${randomBytes(4).toString('hex')}.tmp`
      writeFileSync(temp, change.content!, { mode: existsSync(target) ? statSync(target).mode : 0o644 })
      staged.push({ temp, target })
    }
  } catch (error) {
    for (const { temp } of staged) rmSync(temp, { force: true })
    throw error
  }
  for (const { temp, target } of staged) renameSync(temp, target)
  for (const change of changes) if (change.type === 'DELETE') rmSync(tree.resolve(change.path), { force: true })
  return { backups }
}
