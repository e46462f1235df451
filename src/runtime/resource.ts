import { UriTemplate } from '@modelcontextprotocol/server'
import type { ToolContext } from './tool.js'

/** Variables a URI template matched, by name. */
export type TemplateVariables = Record<string, string>

/** What a resource handler may return: text, bytes, or MCP `contents` as they are. */
export type ResourceValue =
  | string
  | Uint8Array
  | { contents: { uri: string; text?: string; blob?: string; mimeType?: string }[] }
  | Record<string, unknown>
  | unknown[]

export interface ResourceOptions {
  name: string
  title?: string
  description?: string
  mimeType?: string
  /** Gets the URI, the template's variables and the same context as a tool handler. */
  handler: (uri: string, variables: TemplateVariables, context: ToolContext) => ResourceValue | Promise<ResourceValue>
  /** Completion of a template variable: values offered for what the user typed so far. */
  complete?: Record<string, (value: string) => string[] | Promise<string[]>>
  [key: string]: unknown
}

export interface ResourceDefinition {
  kind: 'resource'
  /** A fixed URI, or an RFC 6570 template such as `file:///{path}`. */
  uri: string
  isTemplate: boolean
  name: string
  title?: string
  description?: string
  mimeType?: string
  handler: ResourceOptions['handler']
  complete?: ResourceOptions['complete']
}

const EXPRESSION = /\{([+#./;?&]?)([^{}]+)\}/g

/**
 * Defines a resource; a URI with `{variables}` becomes a resource template readable by any matching URI.
 * @example
 * defineResource('file:///{path}', { name: 'file', handler: async (uri, { path }) => readFile(path, 'utf-8') })
 */
export function defineResource(uri: string, options: ResourceOptions): ResourceDefinition {
  if (typeof uri !== 'string' || uri.length === 0) throw new TypeError('defineResource needs a URI or URI template.')
  if (typeof options?.handler !== 'function') {
    throw new TypeError(`Resource "${uri}" has no handler. Try this: add handler: async (uri) => '...'.`)
  }
  const { name, title, description, mimeType, handler, complete } = options
  return {
    kind: 'resource',
    uri,
    isTemplate: new RegExp(EXPRESSION.source).test(uri),
    name,
    title,
    description,
    mimeType,
    handler,
    complete,
  }
}

// The MCP SDK's matcher (v2 exports it from `@modelcontextprotocol/server`; v1 had it in `shared/uriTemplate.js`).
const compiled = new Map<string, UriTemplate>()
const MAX_COMPILED = 1000

/** A trailing simple `{name}` becomes `{+name}` so it takes the rest of the URI, slashes included. */
function spanTrailingVariable(template: string): string {
  return template.replace(/\{([A-Za-z0-9_%][A-Za-z0-9_.%]*)\}$/, '{+$1}')
}

function compile(template: string): UriTemplate {
  let cached = compiled.get(template)
  if (!cached) {
    // Upstreams advertise templates: keep the cache bounded.
    if (compiled.size >= MAX_COMPILED) compiled.clear()
    cached = new UriTemplate(spanTrailingVariable(template))
    compiled.set(template, cached)
  }
  return cached
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * Matches a URI against an RFC 6570 template and returns its variables (percent-decoded), or null when it
 * does not match. A single variable at the end of the template takes the rest of the URI, slashes included,
 * so `file:///{path}` matches `file:///docs/readme.md` with `path = 'docs/readme.md'`. Query expressions
 * (`{?q,limit}`) match when every variable is present, as in the MCP SDK.
 * @example
 * matchTemplate('users://{id}/profile', 'users://42/profile') // { id: '42' }
 */
export function matchTemplate(template: string, uri: string): TemplateVariables | null {
  let match: ReturnType<UriTemplate['match']>
  try {
    match = compile(template).match(uri)
  } catch {
    // Over-long URIs and malformed templates match nothing.
    return null
  }
  if (!match) return null
  const variables: TemplateVariables = {}
  for (const [name, value] of Object.entries(match)) variables[name] = decode(Array.isArray(value) ? value.join(',') : value)
  return variables
}

/** Turns a handler's value into MCP `resources/read` contents. */
export function toResourceContents(
  uri: string,
  value: ResourceValue,
  mimeType: string | undefined,
): { uri: string; text?: string; blob?: string; mimeType?: string }[] {
  if (typeof value === 'string') return [{ uri, mimeType: mimeType ?? 'text/plain', text: value }]
  if (value instanceof Uint8Array) {
    return [{ uri, mimeType: mimeType ?? 'application/octet-stream', blob: Buffer.from(value).toString('base64') }]
  }
  if (value && typeof value === 'object' && Array.isArray((value as { contents?: unknown }).contents)) {
    return (value as { contents: { uri: string }[] }).contents
  }
  return [{ uri, mimeType: mimeType ?? 'application/json', text: JSON.stringify(value ?? null) }]
}
