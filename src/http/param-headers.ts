import type { IncomingHttpHeaders } from 'node:http'
import { HEADER_MISMATCH } from '../protocol/codes.js'
import type { ModernHandler } from './host.js'

/** The request field a 2026 request's `Mcp-Name` header mirrors, by method (SEP-2243; SEP-2663 for tasks). */
export const MCP_NAME_FIELD: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
}

/** An argument a tool asks clients to mirror in an `Mcp-Param-{Name}` header (SEP-2243, 2026-07-28). */
interface HeaderParam {
  header: string
  path: string[]
  type: unknown
}

const SENTINEL_PREFIX = '=?base64?'
const SENTINEL_SUFFIX = '?='
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const CANONICAL_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

/** The `x-mcp-header` declarations of an input schema, on properties reached through `properties` only. */
export function headerParamsOf(schema: unknown, path: string[] = []): HeaderParam[] {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties
  if (typeof properties !== 'object' || properties === null) return []
  return Object.entries(properties).flatMap(([name, property]) => {
    const here = [...path, name]
    const header = (property as Record<string, unknown> | null)?.['x-mcp-header']
    const own = typeof header === 'string' && header ? [{ header, path: here, type: (property as Record<string, unknown>).type }] : []
    return [...own, ...headerParamsOf(property, here)]
  })
}

/** RFC 9110 `token`: what an `x-mcp-header` name may be. */
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const HEADER_TYPES = new Set(['string', 'integer', 'boolean'])
/** Schema keywords whose values are data, not subschemas. */
const DATA_KEYWORDS = new Set(['default', 'const', 'enum', 'examples'])

/**
 * Why a tool's `x-mcp-header` declarations are invalid (SEP-2243: a non-empty token, on a string, integer
 * or boolean property reached through `properties` only, unique regardless of case), or undefined. A
 * 2026-07-28 client leaves such a tool out of its list.
 */
export function headerDeclarationFault(schema: unknown): string | undefined {
  const seen = new Set<string>()
  const visit = (node: unknown, reachable: boolean, isProperty: boolean): string | undefined => {
    if (typeof node !== 'object' || node === null) return undefined
    if (Array.isArray(node)) {
      for (const item of node) {
        const fault = visit(item, false, false)
        if (fault) return fault
      }
      return undefined
    }
    const record = node as Record<string, unknown>
    if ('x-mcp-header' in record) {
      const header = record['x-mcp-header']
      if (!reachable || !isProperty) return 'x-mcp-header is allowed only on properties reached through "properties"'
      if (typeof header !== 'string' || !HEADER_TOKEN.test(header)) return `x-mcp-header ${JSON.stringify(header)} is not an HTTP header token`
      if (!HEADER_TYPES.has(record.type as string)) return `x-mcp-header ${header} is on a ${String(record.type ?? 'untyped')} property (string, integer or boolean only)`
      if (seen.has(header.toLowerCase())) return `x-mcp-header ${header} is declared twice`
      seen.add(header.toLowerCase())
    }
    for (const [key, value] of Object.entries(record)) {
      if (key === 'x-mcp-header' || DATA_KEYWORDS.has(key)) continue
      const children = key === 'properties' && typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.values(value) : undefined
      const fault = children ? children.map((child) => visit(child, reachable, true)).find(Boolean) : visit(value, false, false)
      if (fault) return fault
    }
    return undefined
  }
  return visit(schema, true, false)
}

/**
 * A value as an HTTP header field value the way 2026-07-28 spells it: plain when it is safe printable ASCII,
 * otherwise `=?base64?…?=` around its UTF-8 bytes (the inverse of `decodeHeaderValue`).
 */
export function encodeHeaderValue(value: string): string {
  const safe = value !== '' && value === value.trim() && /^[\t\x20-\x7e]*$/.test(value) && !(value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX))
  return safe ? value : `${SENTINEL_PREFIX}${Buffer.from(value, 'utf8').toString('base64')}${SENTINEL_SUFFIX}`
}

/** A header field value as sent: plain, or the UTF-8 text inside `=?base64?…?=`; undefined when that wrapping is invalid. */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX))) return value
  const base64 = value.slice(SENTINEL_PREFIX.length, -SENTINEL_SUFFIX.length)
  if (!CANONICAL_BASE64.test(base64)) return undefined
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(base64, 'base64'))
  } catch {
    return undefined
  }
}

function asHeaderText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

/**
 * Checks a 2026 `tools/call`'s `Mcp-Param-*` headers against its arguments: every declared argument the
 * body carries must come with its header, and the (possibly Base64-wrapped) header must equal it.
 * Returns what disagrees, or undefined when all agree.
 */
export function paramHeaderMismatch(params: HeaderParam[], args: unknown, headers: IncomingHttpHeaders): string | undefined {
  for (const param of params) {
    let value: unknown = args
    for (const key of param.path) value = (value as Record<string, unknown> | null)?.[key]
    const text = asHeaderText(value)
    if (text === undefined) continue
    const name = `Mcp-Param-${param.header}`
    const raw = headers[name.toLowerCase()]
    if (typeof raw !== 'string') return `the body carries ${param.path.join('.')} but the ${name} header is absent`
    const decoded = decodeHeaderValue(raw)
    if (decoded === undefined) return `the ${name} header carries an invalid Base64 value`
    const numeric = (param.type === 'integer' || param.type === 'number') && typeof value === 'number'
    const equal = numeric && CANONICAL_DECIMAL.test(decoded) ? Number(decoded) === value : decoded === text
    if (!equal) return `the ${name} header says ${JSON.stringify(decoded)} but the body carries ${param.path.join('.')}=${JSON.stringify(value)}`
  }
  return undefined
}

const declared = new WeakMap<object, HeaderParam[]>()

/** The `x-mcp-header` declarations of a schema, found once per schema object. */
function declaredParams(schema: object): HeaderParam[] {
  let params = declared.get(schema)
  if (!params) declared.set(schema, (params = headerParamsOf(schema)))
  return params
}

/**
 * The `Mcp-Param-*` headers a 2026 `tools/call` must carry for a tool with this input schema (the client's
 * side of `paramHeaderMismatch`): one per declared argument present as a string, number or boolean.
 */
export function paramHeadersFor(schema: object | undefined, args: unknown): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const param of schema ? declaredParams(schema) : []) {
    let value: unknown = args
    for (const key of param.path) value = (value as Record<string, unknown> | null)?.[key]
    const text = asHeaderText(value)
    if (text !== undefined) headers[`Mcp-Param-${param.header}`] = encodeHeaderValue(text)
  }
  return headers
}

/**
 * What disagrees between a 2026 `tools/call`'s `Mcp-Param-*` headers and its arguments, for a tool with
 * this input schema; undefined when they agree (or the tool declares no header argument).
 */
export function paramHeaderRefusal(schema: object | undefined, args: unknown, headers: IncomingHttpHeaders): string | undefined {
  const params = schema ? declaredParams(schema) : []
  return params.length ? paramHeaderMismatch(params, args, headers) : undefined
}

/**
 * Wraps a 2026 handler so a `tools/call` whose `Mcp-Param-*` headers disagree with its arguments is refused
 * with 400 and `-32020` (HeaderMismatch) before it reaches the tool. `inputSchemaOf` names the tool's schema.
 */
export function checkParamHeaders(serve: ModernHandler, inputSchemaOf: (tool: string) => object | undefined): ModernHandler {
  return (req, res, body, principal) => {
    const message = body as { id?: unknown; method?: unknown; params?: { name?: unknown; arguments?: unknown } } | null
    const schema = message?.method === 'tools/call' && typeof message.params?.name === 'string' ? inputSchemaOf(message.params.name) : undefined
    const mismatch = paramHeaderRefusal(schema, message?.params?.arguments, req.headers)
    if (mismatch) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: message!.id ?? null,
          error: { code: HEADER_MISMATCH, message: `Bad Request: the request headers and body disagree: ${mismatch}` },
        }),
      )
      return Promise.resolve()
    }
    return serve(req, res, body, principal)
  }
}
