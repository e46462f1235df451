import { applyEdits, findNodeAtLocation, modify, parse, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser'
import { AirmcpError } from '../errors.js'

const BOM = '\uFEFF'

interface Layout {
  bom: string
  body: string
  eol: string
  insertSpaces: boolean
  tabSize: number
}

function layoutOf(text: string): Layout {
  const bom = text.startsWith(BOM) ? BOM : ''
  const body = text.slice(bom.length)
  const indent = /\n([ \t]+)\S/.exec(body)?.[1] ?? '  '
  return {
    bom,
    body,
    eol: body.includes('\r\n') ? '\r\n' : '\n',
    insertSpaces: !indent.startsWith('\t'),
    tabSize: indent.startsWith('\t') ? 1 : indent.length,
  }
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length
}

/** Parses JSON with comments; a file that does not parse is refused with its path and line. */
export function parseJsonConfig(text: string, path: string): Record<string, unknown> {
  const { body } = layoutOf(text)
  if (!body.trim()) return {}
  const errors: ParseError[] = []
  const value = parse(body, errors, { allowTrailingComma: true, disallowComments: false })
  if (errors.length) {
    const first = errors[0]
    throw new AirmcpError(
      'INVALID_CONFIG',
      `"${path}" is not valid JSON (line ${lineOf(body, first.offset)}: ${printParseErrorCode(first.error)}). Nothing was written.`,
      'fix the file (or move it away), then run the command again.',
    )
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AirmcpError('INVALID_CONFIG', `"${path}" does not hold a JSON object. Nothing was written.`, 'fix the file, then run again.')
  }
  return value as Record<string, unknown>
}

/** The whitespace that starts the line holding `offset`. */
function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1
  return /^[ \t]*/.exec(text.slice(lineStart))![0]
}

/** JSON for a value placed at `indent`, in the file's own indent unit and line ending. */
function pretty(value: unknown, indent: string, layout: Layout): string {
  const unit = layout.insertSpaces ? ' '.repeat(layout.tabSize) : '\t'
  return JSON.stringify(value, null, unit).split('\n').join(layout.eol + indent)
}

/** Inserts `"key": value` as the last property of an object node, in the style of its siblings. */
function insertProperty(body: string, object: JsonNode, key: string, value: unknown, layout: Layout): string {
  const unit = layout.insertSpaces ? ' '.repeat(layout.tabSize) : '\t'
  const last = object.children?.at(-1)
  if (last) {
    const indent = indentAt(body, last.offset)
    const end = last.offset + last.length
    return `${body.slice(0, end)},${layout.eol}${indent}${JSON.stringify(key)}: ${pretty(value, indent, layout)}${body.slice(end)}`
  }
  const outer = indentAt(body, object.offset)
  const indent = outer + unit
  const open = object.offset + 1
  const close = object.offset + object.length - 1
  return `${body.slice(0, open)}${layout.eol}${indent}${JSON.stringify(key)}: ${pretty(value, indent, layout)}${layout.eol}${outer}${body.slice(close)}`
}

/**
 * Sets (or with `undefined` removes) `container.name` and changes nothing else: comments, other keys,
 * key order, indentation, BOM and line endings stay as they were; only our entry is formatted.
 */
export function editJsonConfig(text: string, container: string, name: string, entry: unknown): string {
  const layout = layoutOf(text)
  if (!layout.body.trim()) {
    if (entry === undefined) return text
    return `${layout.bom}${JSON.stringify({ [container]: { [name]: entry } }, null, 2).replace(/\n/g, layout.eol)}${layout.eol}`
  }
  let body = layout.body
  const root = parseTree(body)!
  const holder = findNodeAtLocation(root, [container])
  if (entry === undefined) {
    if (!holder) return text
    // Removing the property takes its comma with it, which gives back the bytes before connect.
    body = applyEdits(body, modify(body, [container, name], undefined, {}))
    const remaining = findNodeAtLocation(parseTree(body)!, [container])
    if (remaining?.type === 'object' && !remaining.children?.length && !/\/[/*]/.test(body.slice(remaining.offset, remaining.offset + remaining.length))) {
      // Leave no empty container behind us: connect added it when it was missing.
      body = applyEdits(body, modify(body, [container], undefined, {}))
    }
    return layout.bom + body
  }
  const existing = holder ? findNodeAtLocation(holder, [name]) : undefined
  if (existing) {
    const indent = indentAt(body, existing.parent!.offset)
    body = body.slice(0, existing.offset) + pretty(entry, indent, layout) + body.slice(existing.offset + existing.length)
  } else if (holder?.type === 'object') {
    body = insertProperty(body, holder, name, entry, layout)
  } else if (holder) {
    throw new AirmcpError('INVALID_CONFIG', `"${container}" is not an object in this config. Nothing was written.`, `make "${container}" an object, then run again.`)
  } else {
    body = insertProperty(body, root, container, { [name]: entry }, layout)
  }
  return layout.bom + body
}
