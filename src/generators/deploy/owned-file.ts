import { createHash } from 'node:crypto'
import type { Tree } from '../../tree/tree.js'

/**
 * Files airmcp deploy writes whole (Dockerfiles, Kubernetes manifests, the install script). Each carries
 * a stamp on its first line: the hash of the rest of the file as written. While the hash still matches,
 * the file is airmcp's and a re-run may rewrite or delete it; once the user edits it, it is theirs and
 * is kept (reported as kept) unless `--force`.
 */
export interface OwnedFileResult {
  /** Files left as the user edited them although airmcp would write them differently. */
  kept: string[]
}

const STAMP = /^(#|\/\/) airmcp deploy: generated \(sha256 ([0-9a-f]{12})\)/

function hashOf(body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 12)
}

/** Prefixes a body with its stamp line; `comment` is the file type's line comment. */
export function stamped(comment: '#' | '//', body: string, note: string): string {
  return `${comment} airmcp deploy: generated (sha256 ${hashOf(body)}). ${note}\n${body}`
}

/** True when the file carries our stamp and its body still matches it. */
export function isPristine(text: string): boolean {
  const newline = text.indexOf('\n')
  const match = STAMP.exec(text.slice(0, newline))
  return match !== null && hashOf(text.slice(newline + 1)) === match[2]
}

/** True when the file was written by airmcp deploy (edited or not). */
export function isStamped(text: string): boolean {
  return STAMP.test(text)
}

/** Writes an owned file: new, pristine or forced → written; edited by the user → kept and reported. */
export function writeOwned(tree: Tree, path: string, content: string, force: boolean, result: OwnedFileResult): void {
  const current = tree.read(path)
  if (current === undefined || current === content || force || isPristine(current)) tree.write(path, content)
  else result.kept.push(path)
}

/** Deletes an owned file that is no longer wanted, unless the user edited it (then it is kept). */
export function deleteOwned(tree: Tree, path: string, force: boolean, result: OwnedFileResult): void {
  const current = tree.read(path)
  if (current === undefined) return
  if (force || isPristine(current)) tree.delete(path)
  else result.kept.push(path)
}
