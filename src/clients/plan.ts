import { isDeepStrictEqual } from 'node:util'
import { editJsonConfig, parseJsonConfig } from './edit-json.js'
import { editTomlConfig, parseTomlConfig } from './edit-toml.js'
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
