import { randomBytes } from 'node:crypto'
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Tree } from './tree.js'

/**
 * Writes a tree's changes: every file first goes to a temp file beside its target, and only when all of
 * them are written are they renamed into place, so a failure leaves no partial file behind.
 */
export function flushTree(tree: Tree): void {
  const changes = tree.listChanges()
  const staged: { temp: string; target: string }[] = []
  try {
    for (const change of changes) {
      if (change.type === 'DELETE') continue
      const target = tree.resolve(change.path)
      mkdirSync(dirname(target), { recursive: true })
      const temp = `${target}.airmcp-${randomBytes(4).toString('hex')}.tmp`
      writeFileSync(temp, change.content!)
      staged.push({ temp, target })
    }
  } catch (error) {
    for (const { temp } of staged) rmSync(temp, { force: true })
    throw error
  }
  for (const { temp, target } of staged) renameSync(temp, target)
  for (const change of changes) if (change.type === 'DELETE') rmSync(tree.resolve(change.path), { force: true })
}
