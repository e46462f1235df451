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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

const compiled = new Map<string, { regex: RegExp; names: string[] }>()

function compileTemplate(template: string): { regex: RegExp; names: string[] } {
  let cached = compiled.get(template)
  if (cached) return cached
  const names: string[] = []
  let pattern = ''
  let last = 0
  for (const match of template.matchAll(EXPRESSION)) {
    pattern += escapeRegExp(template.slice(last, match.index))
    const [, operator, list] = match
    const vars = list.split(',').map((v) => v.replace(/\*$|:\d+$/, '').trim())
    if (operator === '?' || operator === '&') {
      // Query expansions: each variable optional, in order.
      pattern += vars
        .map((v, i) => {
          names.push(v)
          const lead = i === 0 && operator === '?' ? '[?]' : '&'
          return `(?:${lead}${escapeRegExp(v)}=([^&#]*))?`
        })
        .join('')
    } else {
      const lead = operator === '#' ? '#' : operator === '.' ? '\\.' : operator === '/' ? '/' : ''
      // `+`, `#` and a single simple variable spanning the rest may contain slashes; simple ones stop at `/`.
      const chars = operator === '+' || operator === '#' ? '.+?' : '[^/?#,]+'
      const separator = operator === '/' ? '/' : operator === '.' ? '\\.' : ','
      pattern += lead + vars.map((v) => (names.push(v), `(${chars})`)).join(separator)
    }
    last = match.index + match[0].length
  }
  pattern += escapeRegExp(template.slice(last))
  cached = { regex: new RegExp(`^${pattern}$`), names }
  compiled.set(template, cached)
  return cached
}

/**
 * Matches a URI against an RFC 6570 template and returns its variables, or null when it does not match.
 * A single variable at the end of the template takes the rest of the URI, slashes included,
 * so `file:///{path}` matches `file:///docs/readme.md` with `path = 'docs/readme.md'`.
 * @example
 * matchTemplate('users://{id}/profile', 'users://42/profile') // { id: '42' }
 */
export function matchTemplate(template: string, uri: string): TemplateVariables | null {
  const { regex, names } = compileTemplate(template)
  let match = regex.exec(uri)
  if (!match && names.length > 0) {
    // Let a trailing simple variable span slashes (paths), as users of file:///{path} expect.
    const trailing = template.match(/\{([^{}+#./;?&][^{}]*)\}$/)
    if (trailing) {
      const loose = compileTemplate(template.replace(/\{([^{}]+)\}$/, '{+$1}'))
      match = loose.regex.exec(uri)
    }
  }
  if (!match) return null
  const variables: TemplateVariables = {}
  names.forEach((name, i) => {
    const value = match[i + 1]
    if (value === undefined) return
    try {
      variables[name] = decodeURIComponent(value)
    } catch {
      variables[name] = value
    }
  })
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
