import { applyEdits, modify, parse, printParseErrorCode, type ParseError } from 'jsonc-parser'
import { AirmcpError } from '../lib/errors.js'

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

/**
 * Sets (or with `undefined` removes) `container.name` and changes nothing else: comments, other keys,
 * key order, indentation, BOM and line endings stay as they were.
 */
export function editJsonConfig(text: string, container: string, name: string, entry: unknown): string {
  const layout = layoutOf(text)
  const formattingOptions = { insertSpaces: layout.insertSpaces, tabSize: layout.tabSize, eol: layout.eol }
  if (!layout.body.trim()) {
    if (entry === undefined) return text
    return `${layout.bom}${JSON.stringify({ [container]: { [name]: entry } }, null, 2).replace(/\n/g, layout.eol)}${layout.eol}`
  }
  let body = applyEdits(layout.body, modify(layout.body, [container, name], entry, { formattingOptions }))
  if (entry === undefined) {
    // Leave no empty container behind us: connect added it when it was missing.
    const holder = (parse(body) as Record<string, unknown>)[container]
    if (holder && typeof holder === 'object' && Object.keys(holder).length === 0) {
      body = applyEdits(body, modify(body, [container], undefined, { formattingOptions }))
    }
  }
  return layout.bom + body
}
