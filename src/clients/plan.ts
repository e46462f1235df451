import { isDeepStrictEqual } from 'node:util'
import { editJsonConfig, parseJsonConfig } from './edit-json.js'
import { editTomlConfig, parseTomlConfig } from './edit-toml.js'
import { AirmcpError } from '../errors.js'
import type { Tree } from '../tree/tree.js'
import type { ClientTarget } from './types.js'

export type ConnectState = 'connected' | 'different' | 'absent'

/** What the config holds under our name now. */
export function readState(target: ClientTarget, text: string | undefined, path: string, name: string, entry?: Record<string, unknown>) {
  if (text === undefined) return { state: 'absent' as ConnectState, current: undefined }
  const document = target.format === 'toml' ? parseTomlConfig(text, path) : parseJsonConfig(text, path)
  const current = (document[target.container] as Record<string, unknown> | undefined)?.[name]
  if (current === undefined) return { state: 'absent' as ConnectState, current }
  // Round-trip through JSON: TOML tables come back without Object's prototype.
  const plain = JSON.parse(JSON.stringify(current))
  return { state: (entry && isDeepStrictEqual(plain, entry) ? 'connected' : 'different') as ConnectState, current: plain }
}

/** The config text with our entry set (or removed with `undefined`); pure. */
export function editConfig(target: ClientTarget, text: string | undefined, name: string, entry: Record<string, unknown> | undefined): string {
  return target.format === 'toml'
    ? editTomlConfig(text ?? '', target.container, name, entry)
    : editJsonConfig(text ?? '', target.container, name, entry)
}

/** True for a config with nothing in it (`{}`, or blank). */
export function isEmptyConfig(text: string): boolean {
  return /^\uFEFF?\s*(\{\s*\})?\s*$/.test(text)
}

export interface ConnectPlan {
  action: 'created' | 'updated' | 'unchanged'
  /** The entry the config holds under our name now, when it differs from ours. */
  current?: unknown
}

/**
 * Plans our entry into a client's config on the tree (backed up when written): unchanged when it is
 * already there, refused when another entry has our name unless `force`.
 */
export function planConnect(
  tree: Tree,
  target: ClientTarget,
  options: { path: string; name: string; entry: Record<string, unknown>; force?: boolean },
): ConnectPlan {
  const { path, name, entry } = options
  const before = tree.read(path)
  const { state, current } = readState(target, before, path, name, entry)
  if (state === 'connected') return { action: 'unchanged' }
  if (state === 'different' && !options.force) {
    throw new AirmcpError(
      'ENTRY_EXISTS',
      `"${path}" already has a different "${name}" entry: ${JSON.stringify(current)}.`,
      'use --force to replace it, or --name to add ours under another name.',
    )
  }
  tree.write(path, editConfig(target, before, name, entry), { backup: true })
  return { action: before === undefined ? 'created' : 'updated', current }
}

/** Plans our entry's removal; a config left holding nothing was made by connect, so it is deleted. */
export function planDisconnect(tree: Tree, target: ClientTarget, options: { path: string; name: string }): { action: 'removed' | 'absent' } {
  const { path, name } = options
  const before = tree.read(path)
  if (readState(target, before, path, name).state === 'absent') return { action: 'absent' }
  const after = editConfig(target, before, name, undefined)
  if (isEmptyConfig(after)) tree.delete(path, { backup: true })
  else tree.write(path, after, { backup: true })
  return { action: 'removed' }
}
