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
  return { state: (entry && isDeepStrictEqual(current, entry) ? 'connected' : 'different') as ConnectState, current }
}

/** The config text with our entry set (or removed with `undefined`); pure. */
export function editConfig(target: ClientTarget, text: string | undefined, name: string, entry: Record<string, unknown> | undefined): string {
  return target.format === 'toml'
    ? editTomlConfig(text ?? '', target.container, name, entry)
    : editJsonConfig(text ?? '', target.container, name, entry)
}
