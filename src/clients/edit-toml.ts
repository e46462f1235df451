import { parse } from 'smol-toml'
import { AirmcpError } from '../errors.js'

function tomlKey(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name)
}

function tomlValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`
  return JSON.stringify(value)
}

/** Parses TOML; a file that does not parse is refused with its path and line. */
export function parseTomlConfig(text: string, path: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>
  } catch (error) {
    const line = (error as { line?: number }).line
    throw new AirmcpError(
      'INVALID_CONFIG',
      `"${path}" is not valid TOML${line ? ` (line ${line})` : ''}: ${(error as Error).message.split('\n')[0]}. Nothing was written.`,
      'fix the file (or move it away), then run the command again.',
    )
  }
}

/** The lines of `[container.name]` and its sub-tables: [start, end) line indexes, or undefined. */
function tableSpan(lines: string[], container: string, name: string): [number, number] | undefined {
  const key = `${container}.${tomlKey(name)}`
  const header = (line: string) => /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line)?.[1]?.replace(/\s*\.\s*/g, '.')
  const start = lines.findIndex((line) => header(line) === key)
  if (start < 0) return undefined
  let end = start + 1
  while (end < lines.length) {
    const h = header(lines[end])
    if (h !== undefined && h !== key && !h.startsWith(`${key}.`)) break
    end++
  }
  // Trailing blank lines belong to the gap before the next table, not to us.
  while (end > start + 1 && lines[end - 1].trim() === '') end--
  return [start, end]
}

/** Sets (or with `undefined` removes) the `[container.name]` table, leaving every other line as it was. */
export function editTomlConfig(text: string, container: string, name: string, entry: Record<string, unknown> | undefined): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const lines = text.length ? text.split(/\r?\n/) : []
  const trailingNewline = text.length === 0 || /\r?\n$/.test(text)
  if (trailingNewline && lines.length) lines.pop()
  const span = tableSpan(lines, container, name)
  const existing = (parse(text) as Record<string, Record<string, unknown>>)[container]?.[name]
  if (existing !== undefined && !span) {
    throw new AirmcpError(
      'UNSUPPORTED_CONFIG',
      `"${name}" is defined inline under ${container}; airmcp only edits [${container}.${tomlKey(name)}] tables.`,
      'move it to its own table, or edit it by hand.',
    )
  }
  const table = entry
    ? [`[${container}.${tomlKey(name)}]`, ...Object.entries(entry).map(([k, v]) => `${k} = ${tomlValue(v)}`)]
    : []
  if (span) {
    let [start, end] = span
    if (!entry && start > 0 && lines[start - 1].trim() === '' && (end === lines.length || lines[end].trim() === '')) start--
    lines.splice(start, end - start, ...table)
  } else if (entry) {
    if (lines.length && lines.at(-1)!.trim() !== '') lines.push('')
    lines.push(...table)
  }
  return lines.length ? lines.join(eol) + (trailingNewline || !text.length ? eol : '') : ''
}
