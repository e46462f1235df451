import { flushTree } from './flush.js'
import type { FileChange, Tree } from './tree.js'
import { AirmcpError } from '../errors.js'

export interface ApplyResult {
  dryRun: boolean
  changes: { type: FileChange['type']; path: string }[]
}

/**
 * The effects of a planned tree, in order: refuse on conflicts (writing nothing), print the changes,
 * stop on a dry run (printing diffs), else flush atomically.
 */
export function applyTree(
  tree: Tree,
  options: { dryRun?: boolean; print: (line: string) => void; prefix?: string },
): ApplyResult {
  const conflicts = tree.conflicts()
  if (conflicts.length) {
    throw new AirmcpError(
      'CONFLICT',
      `Refusing to overwrite ${conflicts.map((c) => `"${options.prefix ?? ''}${c.path}"`).join(', ')}: ${conflicts[0].reason}. Nothing was written.`,
      'use --force to overwrite, or --dry-run to see the differences.',
    )
  }
  const changes = tree.listChanges().map((c) => ({ type: c.type, path: c.path }))
  for (const change of changes) options.print(`${change.type.padEnd(6)} ${options.prefix ?? ''}${change.path}`)
  if (options.dryRun) {
    const diff = tree.diff()
    if (diff) options.print(`\n${diff}`)
    return { dryRun: true, changes }
  }
  flushTree(tree)
  return { dryRun: false, changes }
}
