// The 2026-07-28 per-request codec of the gateway's HTTP front: one POST in, one call into the front's methods, JSON or SSE out.
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  classifyInboundRequest,
  isJsonContentType,
  ProtocolErrorCode,
  SERVER_INFO_META_KEY,
  UnsupportedProtocolVersionError,
} from '@modelcontextprotocol/server'
import { isRecord, refusedRequest } from '../../http/jsonrpc.js'
import { Exchange } from '../../http/exchange.js'
import { paramHeaderRefusal } from '../../http/param-headers.js'
import { HEADER_MISMATCH, RESOURCE_NOT_FOUND } from '../../protocol/codes.js'
import { type Caller, Cancellation, type GatewayState, type StateSealer } from '../calls/index.js'
import { jsonRpcErrorOf, passableMeta, type MethodHandler } from './front-methods.js'
import type { ClientAccess } from '../security/index.js'
import { headerOf, Refusal, standardHeaderRefusal } from './modern-headers.js'
import type { ClientSurface } from './surface.js'

type Params = Record<string, unknown>
type Id = string | number

/** The revisions this codec serves. */
export const MODERN_VERSIONS = ['2026-07-28']

/** Results that carry cache fields (ttlMs, cacheScope) on 2026-07-28. */
const CACHEABLE = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read', 'server/discover'])
/** Results that may be other than `complete` (an `input_required` round). */
const MULTI_ROUND = new Set(['tools/call', 'prompts/get', 'resources/read'])
const ENVELOPE = {
  version: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  capabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
}

const recordOrNothing = (value: unknown) => (isRecord(value) ? value : undefined)

type Request = { method: string; id?: Id; params: Params }

/** The keys of the per-request envelope (the SDK's classification checks their values against the revision's schema). */
const ENVELOPE_KEYS = [ENVELOPE.version, ENVELOPE.clientInfo, ENVELOPE.capabilities, ENVELOPE.logLevel]
/** Envelopes (as JSON) the SDK's classification accepted: a client sends the same one with every request. */
const acceptedEnvelopes = new Set<string>()
const MAX_ACCEPTED_ENVELOPES = 1024

function envelopeKey(meta: Params): string {
  return JSON.stringify(ENVELOPE_KEYS.flatMap((key) => (key in meta ? [key, meta[key]] : [])))
}

/**
 * The common request, recognised without the SDK's classification (two schema parses, more than routing
 * the call costs): a plain JSON-RPC request whose envelope was accepted before and whose headers, where
 * present, agree with its body. Anything else, valid or not, goes through the SDK's classification.
 */
function plainRequest(req: IncomingMessage, body: unknown): (Request & { revision: string }) | undefined {
  if (!isRecord(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string' || body.method === 'initialize') return undefined
  const { id, method, params } = body
  if (!(typeof id === 'string' || Number.isSafeInteger(id)) || refusedRequest(body) || !isRecord(params)) return undefined
  const meta = params._meta
  if (!isRecord(meta) || !acceptedEnvelopes.has(envelopeKey(meta))) return undefined
  const revision = meta[ENVELOPE.version] as string
  const versionHeader = headerOf(req, 'mcp-protocol-version')
  const methodHeader = headerOf(req, 'mcp-method')
  if ((versionHeader !== undefined && versionHeader !== revision) || (methodHeader !== undefined && methodHeader !== method)) return undefined
  return { method, id: id as Id, params, revision }
}

/** What the classification leaves to answer: the request to dispatch, or the refusal. */
function classify(req: IncomingMessage, body: unknown): Request | Refusal | 'accepted' {
  const plain = plainRequest(req, body)
  if (plain) return standardHeaderRefusal(req, plain.method, plain.params, plain.revision) ?? plain
  const outcome = classifyInboundRequest({
    httpMethod: req.method ?? 'POST',
    protocolVersionHeader: headerOf(req, 'mcp-protocol-version'),
    mcpMethodHeader: headerOf(req, 'mcp-method'),
    mcpNameHeader: headerOf(req, 'mcp-name'),
    body,
  })
  if (outcome.kind === 'reject') return new Refusal(outcome.httpStatus, outcome.code, outcome.message, outcome.data)
  if (outcome.kind === 'legacy') {
    // Only a batch or a posted response reach here (era.ts sends nothing else of the 2025 era).
    return new Refusal(400, ProtocolErrorCode.InvalidRequest, `Bad Request: JSON-RPC ${outcome.reason === 'batch' ? 'batches are not supported by' : 'responses cannot be posted to'} this endpoint`)
  }
  const revision = outcome.classification.revision
  if (revision === undefined || !MODERN_VERSIONS.includes(revision)) {
    const error = new UnsupportedProtocolVersionError({ supported: MODERN_VERSIONS, requested: revision ?? 'unknown' })
    return new Refusal(400, error.code, error.message, error.data)
  }
  const message = outcome.message as { method: string; id?: Id; params?: unknown }
  if (outcome.messageKind === 'notification') return 'accepted'
  const params = isRecord(message.params) ? message.params : {}
  if (isRecord(params._meta) && acceptedEnvelopes.size < MAX_ACCEPTED_ENVELOPES) acceptedEnvelopes.add(envelopeKey(params._meta))
  return standardHeaderRefusal(req, message.method, message.params, revision) ?? { method: message.method, id: message.id, params }
}

/** A `tools/call` whose `Mcp-Param-*` headers disagree with its arguments (SEP-2243), refused before it is routed. */
function paramHeaderMismatch(req: IncomingMessage, params: Params, inputSchemaOf: (tool: string) => object | undefined): Refusal | undefined {
  const schema = typeof params.name === 'string' ? inputSchemaOf(params.name) : undefined
  const mismatch = paramHeaderRefusal(schema, params.arguments, req.headers)
  return mismatch === undefined ? undefined : new Refusal(400, HEADER_MISMATCH, `Bad Request: the request headers and body disagree: ${mismatch}`)
}

/**
 * A 2026 result as the revision spells it: `resultType`, the cache fields of cacheable results, the
 * gateway's `serverInfo` (the SDK's 2026 encoding; a tool's `execution` is not a 2026 field).
 */
function encodeResult(method: string, result: unknown, serverInfo: Params): Params {
  let encoded: Params = isRecord(result) ? { ...result } : {}
  if (method === 'tools/list' && Array.isArray(encoded.tools) && encoded.tools.some((tool) => isRecord(tool) && 'execution' in tool)) {
    encoded.tools = encoded.tools.map((tool) => {
      if (!isRecord(tool) || !('execution' in tool)) return tool
      const { execution: _dropped, ...rest } = tool
      return rest
    })
  }
  if (encoded.resultType === undefined) encoded.resultType = 'complete'
  else if (encoded.resultType !== 'complete' && !MULTI_ROUND.has(method)) {
    throw new Refusal(200, ProtocolErrorCode.InternalError, `Handler for ${method} returned resultType '${String(encoded.resultType)}', but results of ${method} only support 'complete' on protocol revision 2026-07-28`)
  }
  if (encoded.resultType === 'complete' && CACHEABLE.has(method)) {
    if (!(typeof encoded.ttlMs === 'number' && Number.isInteger(encoded.ttlMs) && encoded.ttlMs >= 0)) encoded.ttlMs = 0
    if (encoded.cacheScope !== 'private' && encoded.cacheScope !== 'public') encoded.cacheScope = 'private'
  }
  const meta = encoded._meta
  if (meta === undefined) encoded._meta = { [SERVER_INFO_META_KEY]: serverInfo }
  else if (isRecord(meta) && meta[SERVER_INFO_META_KEY] === undefined) encoded = { ...encoded, _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } }
  return encoded
}

/** The JSON-RPC error a thrown value answers with on 2026-07-28, where a resource not found is -32602. */
function errorOf(error: unknown): { code: number; message: string; data?: unknown } {
  const answer = jsonRpcErrorOf(error)
  return answer.code === RESOURCE_NOT_FOUND ? { ...answer, code: ProtocolErrorCode.InvalidParams } : answer
}

function refuse(res: ServerResponse, id: Id | undefined, refusal: Refusal): void {
  const error = { code: refusal.code, message: refusal.message, ...(refusal.data !== undefined ? { data: refusal.data } : {}) }
  new Exchange(res).answer({ jsonrpc: '2.0', id: id ?? null, error }, refusal.status)
}

export interface ModernCodecOptions {
  serverInfo: { name: string; version: string }
  sealer: StateSealer
  /** The front's methods (front-methods.ts), and the surface a request's client sees. */
  methods: Map<string, MethodHandler>
  surfaceFor(access: ClientAccess | undefined): ClientSurface<Caller>
  /** A tool's input schema by the name a client calls it (its `Mcp-Param-*` headers are checked against it). */
  inputSchemaOf(tool: string): object | undefined
  /** What `server/discover` answers besides the versions. */
  discover(): Params
  /** Requests the codec does not answer itself (`subscriptions/listen`: long-lived streams). */
  passOn: Map<string, (req: IncomingMessage, res: ServerResponse, body: unknown, access: ClientAccess | undefined) => Promise<void>>
}

/**
 * The gateway's 2026-07-28 HTTP front: each POST is self-contained (its envelope names the client, its
 * sealed `requestState` carries what an earlier round learnt), so any gateway process answers any request.
 * The body was parsed once by the host; this checks the revision's rules, decodes the request into a
 * caller and calls the front's method for it: the same call a 2025 session's codec makes.
 */
export function createModernCodec(options: ModernCodecOptions) {
  const serverInfo: Params = { ...options.serverInfo }
  /** Requests not yet answered, for the keep-alive ticks. */
  const pending = new Set<Exchange>()

  async function dispatch(req: IncomingMessage, res: ServerResponse, request: Request, access: ClientAccess | undefined) {
    const { method, id, params } = request
    const exchange = new Exchange(res)
    const cancellation = new Cancellation()
    res.once('close', () => {
      if (!res.writableFinished) cancellation.abort(new Error('The client closed the request'))
    })
    const handler = method === 'server/discover' ? () => options.discover() : options.methods.get(method)
    if (!handler) return refuse(res, id, new Refusal(404, ProtocolErrorCode.MethodNotFound, `Method not found: ${method}`))
    pending.add(exchange)
    try {
      const meta = isRecord(params._meta) ? params._meta : {}
      const sealed = params.requestState
      let state: GatewayState | undefined
      if (typeof sealed === 'string') {
        try {
          state = options.sealer.open(sealed)
        } catch {
          throw new Refusal(200, ProtocolErrorCode.InvalidParams, 'Invalid or expired requestState', { reason: 'invalid_request_state' })
        }
      }
      const caller: Caller = {
        era: 'modern',
        principal: access?.principal,
        get signal() {
          return cancellation.signal
        },
        cancellation,
        requestId: id,
        headers: req.headers,
        progressToken: meta.progressToken as string | number | undefined,
        meta: passableMeta(meta),
        notify: async (notification) => exchange.notify(notification),
        inputResponses: recordOrNothing(params.inputResponses),
        state,
        logLevel: meta[ENVELOPE.logLevel] as string | undefined,
        clientCapabilities: recordOrNothing(meta[ENVELOPE.capabilities]),
      }
      const result = await handler(params, caller, options.surfaceFor(access))
      exchange.answer({ jsonrpc: '2.0', id, result: encodeResult(method, result, serverInfo) })
    } catch (error) {
      const status = error instanceof Refusal ? error.status : errorOf(error).code === ProtocolErrorCode.MissingRequiredClientCapability ? 400 : 200
      // A request the client cancelled (closed) gets no answer: nobody reads it.
      if (!cancellation.aborted) exchange.answer({ jsonrpc: '2.0', id, error: errorOf(error) }, status)
    } finally {
      pending.delete(exchange)
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: unknown, access: ClientAccess | undefined): Promise<void> {
    if (!isJsonContentType(req.headers['content-type'] ?? null)) {
      return refuse(res, undefined, new Refusal(415, -32000, 'Unsupported Media Type: Content-Type must be application/json'))
    }
    const request = classify(req, body)
    if (request === 'accepted') return void res.writeHead(202).end()
    if (request instanceof Refusal) {
      const m = body as { method?: unknown; id?: unknown } | null
      const id = isRecord(m) && typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : undefined
      return refuse(res, id, request)
    }
    const mismatch = request.method === 'tools/call' ? paramHeaderMismatch(req, request.params, options.inputSchemaOf) : undefined
    if (mismatch) return refuse(res, request.id, mismatch)
    const passOn = options.passOn.get(request.method)
    if (passOn) return passOn(req, res, body, access)
    await dispatch(req, res, request, access)
  }

  return {
    handle,
    keepAlive: () => {
      for (const exchange of pending) exchange.keepAlive()
    },
  }
}
