import { AirmcpError } from '../errors.js'
import type { Tree } from '../tree/tree.js'

/** A JSON file of the tree, parsed; undefined when it does not exist; a clear error when it does not parse. */
export function readJson<T = Record<string, unknown>>(tree: Tree, path: string): T | undefined {
  const text = tree.read(path)
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as T
  } catch (error) {
    throw new AirmcpError('INVALID_JSON', `"${path}" is not valid JSON: ${(error as Error).message}`, `fix ${path}.`)
  }
}
