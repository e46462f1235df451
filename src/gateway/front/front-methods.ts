// The one request path of the gateway's front: what each client request method does, whatever the era and transport.
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server'
import { isRecord } from '../../http/jsonrpc.js'
import type { Caller } from '../calls/index.js'
import { LEGACY_TASK_METHODS, type Router, TASK_METHODS, type TaskMethod } from '../routing/index.js'
import type { ClientSurface } from './surface.js'

type Params = Record<string, unknown>

/** One method's answer: from the request's params and who asked (the caller a codec decoded). */
export type MethodHandler = (params: Params, caller: Caller, surface: ClientSurface<Caller>) => unknown

type ListKind = Parameters<Router['cacheHint']>[0]

function invalidParams(what: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid params: ${what}`)
}

/** Checks that `params[key]` is a string, as the SDK's request schemas did before a handler ran. */
function requireString(params: Params, key: string): void {
  if (typeof params[key] !== 'string') throw invalidParams(`${key} must be a string`)
}

/**
 * The request methods every front answers, each through the client's surface (its policies and discovery
 * mode) into the router. A 2025 session's codec and the 2026 per-request codec both decode a message into
 * a call of one of these: there is no other path from a client to an upstream. Each era has its own set.
 */
export function frontMethods(router: Router, era: Caller['era']): Map<string, MethodHandler> {
  // 2026 results of lists carry the upstreams' cache hints; 2025 results have no such fields.
  const hint = (kind: ListKind, caller: Caller) => (caller.era === 'modern' ? router.cacheHint(kind) : undefined)
  const methods = new Map<string, MethodHandler>([
    ['tools/list', async (_, caller, surface) => (await router.consentBeforeListing(caller), { tools: await surface.listTools(caller), ...hint('tools', caller) })],
    [
      'tools/call',
      (params, caller, surface) => {
        requireString(params, 'name')
        if (params.arguments !== undefined && !isRecord(params.arguments)) throw invalidParams('arguments must be an object')
        return surface.callTool(params, caller)
      },
    ],
    ['resources/list', (_, caller, surface) => ({ resources: surface.listResources(), ...hint('resources', caller) })],
    ['resources/templates/list', (_, caller, surface) => ({ resourceTemplates: surface.listResourceTemplates(), ...hint('resourceTemplates', caller) })],
    ['resources/read', (params, caller, surface) => (requireString(params, 'uri'), surface.readResource(params, caller))],
    ['prompts/list', async (_, caller, surface) => ({ prompts: await surface.listPrompts(caller), ...hint('prompts', caller) })],
    ['prompts/get', (params, caller, surface) => (requireString(params, 'name'), surface.getPrompt(params, caller))],
    [
      'completion/complete',
      (params, caller, surface) => {
        if (!isRecord(params.ref) || typeof params.ref.type !== 'string') throw invalidParams('ref must be an object with a type')
        if (!isRecord(params.argument)) throw invalidParams('argument must be an object')
        return surface.complete(params, caller)
      },
    ],
  ])
  // Tasks: each era has its own set of methods (2025-11-25's experimental tasks, 2026's extension).
  const taskMethods: readonly string[] = era === 'modern' ? TASK_METHODS : LEGACY_TASK_METHODS
  for (const method of taskMethods) {
    methods.set(method, (params, caller, surface) => (requireString(params, 'taskId'), surface.taskRequest(method as TaskMethod, params, caller)))
  }
  return methods
}

const RESERVED_META = /^io\.modelcontextprotocol\//

/** `_meta` keys a client sent that are worth passing upstream (trace context and the like). */
export function passableMeta(meta: Params | undefined): Params | undefined {
  if (!meta) return undefined
  const kept = Object.fromEntries(Object.entries(meta).filter(([key]) => key !== 'progressToken' && !RESERVED_META.test(key)))
  return Object.keys(kept).length ? kept : undefined
}

/** The JSON-RPC error a method's thrown value answers with, in either era (a value with no code is an internal error). */
export function jsonRpcErrorOf(error: unknown): { code: number; message: string; data?: unknown } {
  const e = (error ?? {}) as { code?: unknown; message?: unknown; data?: unknown }
  return {
    code: Number.isSafeInteger(e.code) ? (e.code as number) : ProtocolErrorCode.InternalError,
    message: typeof e.message === 'string' ? e.message : 'Internal error',
    ...(e.data !== undefined ? { data: e.data } : {}),
  }
}

const toolSchemas = new WeakMap<Router, { revision: number; byName: Map<string, object> }>()

/** A tool's input schema by the name clients call it, from the router's list (read again when its revision moves). */
export function inputSchemaOf(router: Router, tool: string): object | undefined {
  let cached = toolSchemas.get(router)
  if (!cached || cached.revision !== router.revision) {
    const byName = new Map(router.listTools().flatMap((t) => (isRecord(t.inputSchema) ? [[t.name, t.inputSchema] as const] : [])))
    toolSchemas.set(router, (cached = { revision: router.revision, byName }))
  }
  return cached.byName.get(tool)
}
