import { AirmcpError } from '../errors.js'

/** The part of a tool's `inputSchema` that says how to read `key=value` arguments. */
export interface ToolInputSchema {
  properties?: Record<string, { type?: string | string[] } | boolean>
}

/** A tool result as `tools/call` returns it (only what `airmcp call` reads). */
export interface ToolCallResult {
  content?: { type: string; text?: string; mimeType?: string; data?: string; resource?: { uri?: string; text?: string }; uri?: string }[]
  structuredContent?: unknown
  isError?: boolean
}

/**
 * A call's arguments: the `--args` JSON object, then each `key=value` over it. A value is read as its
 * property's schema type says (number, integer, boolean, object, array, null); a string property keeps the
 * text as typed; a key the schema does not name is read as JSON when it parses, else kept as text.
 */
export function toolArguments(json: string | undefined, pairs: string[], schema?: ToolInputSchema): Record<string, unknown> {
  const args: Record<string, unknown> = json === undefined ? {} : parseArgsJson(json)
  for (const pair of pairs) {
    const equals = pair.indexOf('=')
    if (equals <= 0) {
      throw new AirmcpError('BAD_ARGUMENT', `"${pair}" is not a key=value argument.`, `write it as key=value (e.g. query=hello), or pass --args '{"query":"hello"}'.`)
    }
    const key = pair.slice(0, equals)
    args[key] = typedValue(key, pair.slice(equals + 1), propertyTypes(schema, key))
  }
  return args
}

function parseArgsJson(json: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (error) {
    throw new AirmcpError('BAD_ARGUMENT', `--args is not valid JSON (${(error as Error).message}).`, `pass one JSON object, e.g. --args '{"query":"hello"}'.`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AirmcpError('BAD_ARGUMENT', '--args must be a JSON object.', `pass one JSON object, e.g. --args '{"query":"hello"}'.`)
  }
  return parsed as Record<string, unknown>
}

function propertyTypes(schema: ToolInputSchema | undefined, key: string): string[] {
  const property = schema?.properties?.[key]
  if (typeof property !== 'object' || property.type === undefined) return []
  return Array.isArray(property.type) ? property.type : [property.type]
}

function typedValue(key: string, text: string, types: string[]): unknown {
  if (types.includes('string')) return text
  const json = tryJson(text)
  if (!types.length) return json === undefined ? text : json
  const fits = (value: unknown) =>
    types.some((type) =>
      type === 'integer'
        ? Number.isInteger(value)
        : type === 'array'
          ? Array.isArray(value)
          : type === 'null'
            ? value === null
            : type === 'object'
              ? typeof value === 'object' && value !== null && !Array.isArray(value)
              : typeof value === type,
    )
  if (json !== undefined && fits(json)) return json
  throw new AirmcpError('BAD_ARGUMENT', `${key}=${text}: the tool wants ${types.join(' or ')} for "${key}".`, `pass a ${types.join(' or ')} (e.g. ${key}=${example(types[0])}), or --args with JSON.`)
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function example(type: string): string {
  return { number: '5', integer: '5', boolean: 'true', array: "'[\"a\"]'", object: "'{\"a\":1}'", null: 'null' }[type] ?? 'value'
}

/** What `airmcp call` prints for a result: its text blocks, one per line; other blocks described; else the structured content. */
export function resultText(result: ToolCallResult): string {
  const parts = (result.content ?? []).map((block) => {
    if (block.type === 'text') return block.text ?? ''
    if (block.type === 'resource') return block.resource?.text ?? `[resource ${block.resource?.uri ?? ''}]`
    if (block.type === 'resource_link') return `[resource link ${block.uri ?? ''}]`
    return `[${block.type}${block.mimeType ? ` ${block.mimeType}` : ''}${block.data ? `, ${Math.floor((block.data.length * 3) / 4)} bytes` : ''}]`
  })
  if (!parts.length && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent, null, 2)
  return parts.join('\n')
}

/** The gateway's MCP endpoint for a base URL or an endpoint: `http://127.0.0.1:4000` means `…/mcp`. */
export function mcpEndpoint(url: string): URL {
  let endpoint: URL
  try {
    endpoint = new URL(url)
  } catch {
    throw new AirmcpError('BAD_URL', `"${url}" is not a URL.`, 'pass the gateway as --url http://127.0.0.1:4000 (or its /mcp endpoint).')
  }
  if (endpoint.pathname === '/' || endpoint.pathname === '') endpoint.pathname = '/mcp'
  return endpoint
}
