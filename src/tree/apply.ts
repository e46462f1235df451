import { isAbsolute } from 'node:path'
import { AirmcpError } from '../errors.js'
import { type FlushResult, flushTree } from './flush.js'
import type { FileChange, Tree } from './tree.js'

export interface ApplyResult {
  dryRun: boolean
  changes: { type: FileChange['type']; path: string }[]
  /** Files backed up before they changed, and where the copies are. */
  backups?: FlushResult['backups']
}

export interface ApplyOptions {
  dryRun?: boolean
  print: (line: string) => void
  /** Shown before relative paths (e.g. the new workspace's folder). */
  prefix?: string
  /** Where backups of files written with `{ backup: true }` go (default `~/.airmcp/backups`). */
  backupDir?: string
}

/**
 * The effects of a planned tree, in order: refuse on conflicts (writing nothing), print the changes,
 * stop on a dry run (printing diffs), else back up the user files it changes and flush atomically.
 */
export function applyTree(tree: Tree, options: ApplyOptions): ApplyResult {
  const shown = (path: string) => (isAbsolute(path) ? path : `${options.prefix ?? ''}${path}`)
  const conflicts = tree.conflicts()
  if (conflicts.length) {
    throw new AirmcpError(
      'CONFLICT',
      `Refusing to overwrite ${conflicts.map((c) => `"${shown(c.path)}"`).join(', ')}: ${conflicts[0].reason}. Nothing was written.`,
      'use --force to overwrite, or --dry-run to see the differences.',
    )
  }
  const changes = tree.listChanges().map((c) => ({ type: c.type, path: c.path }))
  for (const change of changes) options.print(`${change.type.padEnd(6)} ${shown(change.path)}`)
  if (options.dryRun) {
    const diff = tree.diff()
    if (diff) options.print(`\n${diff}`)
    return { dryRun: true, changes }
  }
  const { backups } = flushTree(tree, { backupDir: options.backupDir })
  for (const { backup } of backups) options.print(`Backup: ${backup}`)
  return { dryRun: false, changes, ...(backups.length ? { backups } : {}) }
}
