import { readFileSync } from 'node:fs'
import { AirmcpError } from '../errors.js'
import { toolSpecSchema, type ToolSpec } from './schema.js'

/** `tools[1].params.limit.type` from a zod path. */
function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '')
}

/** Validates parsed spec data; errors name the file, the path inside it and the fix. */
export function parseToolSpec(data: unknown, file: string): ToolSpec {
  const result = toolSpecSchema.safeParse(data)
  if (result.success) return result.data
  const lines = result.error.issues.map((issue) => {
    // A bad record key carries the reason in its own nested issues.
    const nested = (issue as { issues?: { message: string }[] }).issues?.[0]?.message
    const message = issue.code === 'invalid_key' && nested ? `invalid name: ${nested}` : issue.message
    return `  ${formatPath(issue.path) || '(top level)'}: ${message}`
  })
  throw new AirmcpError(
    'INVALID_SPEC',
    `Tool spec "${file}" is invalid:\n${lines.join('\n')}`,
    'fix the fields above; the schema is in templates/tool-spec.schema.json (param types: string, number, integer, boolean, object, array).',
  )
}

/** Reads a JSON or YAML tool spec file. */
export async function loadToolSpec(file: string): Promise<ToolSpec> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw new AirmcpError('SPEC_NOT_FOUND', `Tool spec "${file}" cannot be read.`, 'check the path given to --spec.')
  }
  let data: unknown
  try {
    if (/\.ya?ml$/i.test(file)) data = (await import('yaml')).parse(text)
    else data = JSON.parse(text)
  } catch (error) {
    throw new AirmcpError(
      'INVALID_SPEC',
      `Tool spec "${file}" is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(error as Error).message}`,
      'fix the syntax at the position above.',
    )
  }
  return parseToolSpec(data, file)
}
