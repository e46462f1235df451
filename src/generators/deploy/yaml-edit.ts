import type { Document } from 'yaml'
import { AirmcpError } from '../../errors.js'

type Yaml = typeof import('yaml')
export type Path = (string | number)[]

/** How every YAML file airmcp deploy writes is printed: no folding or anchors, so re-runs print the same bytes. */
export const PRINT = { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false } as const
/** New nodes never become anchors and aliases, even when one value is used twice. */
export const NODE = { aliasDuplicateObjects: false } as const

/** Parses a YAML file the user may have edited; a file that does not parse is refused with its line. */
export function parseUserYaml(yaml: Yaml, path: string, text: string): Document {
  const doc = yaml.parseDocument(text, { keepSourceTokens: false })
  const error = doc.errors[0]
  if (error) {
    const at = error.linePos?.[0]
    const where = at ? ` (line ${at.line}, column ${at.col})` : ''
    throw new AirmcpError(
      'YAML_SYNTAX',
      `"${path}" does not parse${where}: ${error.message.split('\n')[0]}. Nothing was written.`,
      `fix ${path} at that line (or delete the file to have it written afresh), then run the command again.`,
    )
  }
  if (doc.contents !== null && !yaml.isMap(doc.contents)) {
    throw new AirmcpError('YAML_SHAPE', `"${path}" is not a YAML mapping. Nothing was written.`, `fix ${path}, or delete it to have it written afresh.`)
  }
  return doc
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Sets a value the generator owns, only when it differs (so comments and style of equal values stay). */
export function setOwned(yaml: Yaml, doc: Document, path: Path, value: unknown): void {
  const current = doc.getIn(path, true)
  const currentValue = yaml.isNode(current) ? current.toJSON() : current
  if (!same(currentValue, value)) doc.setIn(path, doc.createNode(value, NODE))
}

/** Sets a value only when the file has none there: a default the user may change. */
export function setSeeded(doc: Document, path: Path, value: unknown): void {
  if (!doc.hasIn(path)) doc.setIn(path, doc.createNode(value, NODE))
}

/** The value at a path as plain data. */
export function valueAt(yaml: Yaml, doc: Document, path: Path): unknown {
  const node = doc.getIn(path, true)
  return yaml.isNode(node) ? node.toJSON() : node
}

/** True when printing `doc` would change what `before` means (so an unchanged file is never reprinted). */
export function changedMeaning(before: string | undefined, doc: Document, yaml: Yaml): boolean {
  if (before === undefined) return true
  return !same(yaml.parse(before), doc.toJS())
}
