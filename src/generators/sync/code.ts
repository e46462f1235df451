/** The style of the file we edit: line ending, indent unit and quote, so new code looks like the old. */
export interface Style {
  eol: string
  indent: string
  quote: "'" | '"'
}

export function detectStyle(text: string): Style {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const indent = /\n( +|\t)\S/.exec(text)?.[1] ?? '  '
  const singles = (text.match(/'/g) ?? []).length
  const doubles = (text.match(/"/g) ?? []).length
  return { eol, indent: indent === '\t' ? '\t' : ' '.repeat(Math.min(indent.length, 4)), quote: doubles > singles ? '"' : "'" }
}

export function str(style: Style, value: string): string {
  return style.quote + value.replace(/\\/g, '\\\\').replaceAll(style.quote, `\\${style.quote}`) + style.quote
}

export function connectionCode(style: Style, connection: Record<string, unknown>, depth: number): string {
  const pad = style.indent.repeat(depth)
  if (connection.type !== 'stdio') {
    return `{ type: ${str(style, connection.type as string)}, url: ${str(style, connection.url as string)} }`
  }
  const args = (connection.args as string[]).map((a) => str(style, a)).join(', ')
  return (
    `{${style.eol}${pad}${style.indent}type: ${str(style, 'stdio')},${style.eol}` +
    `${pad}${style.indent}command: ${str(style, connection.command as string)},${style.eol}` +
    `${pad}${style.indent}args: [${args}],${style.eol}${pad}}`
  )
}

export function registrationCode(style: Style, gatewayVar: string, id: string, name: string, connection: Record<string, unknown>): string {
  const i = style.indent
  const e = style.eol
  return (
    `${gatewayVar}.register({${e}` +
    `${i}id: ${str(style, id)},${e}` +
    `${i}name: ${str(style, name)},${e}` +
    `${i}transport: ${str(style, connection.type as string)},${e}` +
    `${i}connection: ${connectionCode(style, connection, 1)},${e}` +
    `});`
  )
}

export interface Edit {
  start: number
  end: number
  text: string
}

/** Applies non-overlapping edits, last first so earlier offsets stay valid. */
export function applyEdits(text: string, edits: Edit[]): string {
  let next = text
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) next = next.slice(0, edit.start) + edit.text + next.slice(edit.end)
  return next
}
