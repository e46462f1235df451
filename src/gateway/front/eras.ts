import type { IncomingMessage, ServerResponse } from 'node:http'
import { StringDecoder } from 'node:string_decoder'
import { toNodeHandler } from '@modelcontextprotocol/node'
import { createMcpHandler, type McpRequestContext } from '@modelcontextprotocol/server'
import { serveStdio } from '@modelcontextprotocol/server/stdio'
import { parseJsonRpcLine, refusedRequest } from '../../http/jsonrpc.js'
import { Tally } from '../../http/tally.js'
import { QuietStreams } from '../../http/keep-alive.js'
import { isTaskListen, serveTaskListen } from '../../runtime/task-listen.js'
import { createListenServer, createStdioServer, MODERN_CAPABILITIES, surfaceFor } from './front.js'
import { frontMethods, inputSchemaOf } from './front-methods.js'
import { createModernCodec, MODERN_VERSIONS } from './modern-http.js'
import type { ClientAccess } from '../security/index.js'
import type { Router } from '../routing/index.js'
import type { Caller, StateSealer } from '../calls/index.js'
import type { ClientSurface } from './surface.js'

type ListenRequest = {
  id?: string | number
  method?: string
  params?: { notifications?: { resourceSubscriptions?: unknown }; _meta?: Record<string, unknown> }
}

/** The caller a listen stream's task reads are made as: the stream's client, as its tasks/get would be. */
function listenCaller(request: ListenRequest, access: ClientAccess | undefined): Caller {
  return {
    era: 'modern',
    signal: new AbortController().signal,
    notify: async () => {},
    principal: access?.principal,
    clientCapabilities: request.params?._meta?.['io.modelcontextprotocol/clientCapabilities'] as Caller['clientCapabilities'],
  }
}

/** How many 2026 listen streams the front keeps open, and how many resources one may follow. */
export interface ListenLimits {
  /** Listen streams open at once per handler (one per named client, one for everyone else). */
  maxListenStreams: number
  /** Listen streams one client (remote address, and named client where there is one) may hold open. */
  maxListenStreamsPerClient: number
  /** Resource URIs one listen stream may ask updates for. */
  maxSubscriptionsPerSession: number
}

/** Open listen streams by client, so that one client cannot take every stream the handler allows. */
class ListenStreams {
  private readonly open = new Tally<string>()
  /** Every admitted stream, for the keep-alive ticks. */
  readonly quiet = new QuietStreams()

  constructor(private readonly perClient: number) {}

  /** Counts `res` toward each of `clients` until it closes; false, counting nothing, when one is at the cap. */
  admit(res: ServerResponse, clients: string[]): boolean {
    if (clients.some((client) => this.open.of(client) >= this.perClient)) return false
    for (const client of clients) this.open.add(client)
    this.quiet.add(res)
    res.once('close', () => {
      for (const client of clients) this.open.remove(client)
    })
    return true
  }
}

/** A JSON-RPC error answering one request, as the SDK's handler answers its own refusals (HTTP 200). */
function refuse(res: ServerResponse, id: unknown, code: number, message: string): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message } }))
}

/**
 * The gateway's 2026-07-28 front on HTTP: each request goes through the per-request codec (modern-http.ts)
 * into the front's methods, so any gateway process can answer any request. `subscriptions/listen` streams
 * are the SDK's (its listen router, told of changes through `notify`). 2025-era traffic keeps the sessionful front.
 */
export function createModernHttpFront(
  router: Router,
  info: { name: string; version: string },
  sealer: StateSealer,
  defaultAccess: ClientAccess | undefined,
  limits: ListenLimits,
) {
  // The listen router is the SDK's: its handler serves only `subscriptions/listen` (the codec passes on no other method).
  const listenHandler = createMcpHandler(() => createListenServer(info, router.instructions()), {
    legacy: 'reject',
    maxSubscriptions: limits.maxListenStreams,
  })
  router.notifiers.add(listenHandler.notify)
  const serveListen = toNodeHandler(listenHandler)
  const streams = new ListenStreams(limits.maxListenStreamsPerClient)

  /** Admits a listen stream within its client's share, and asks the owning upstreams for the resources it follows. */
  async function listen(req: IncomingMessage, res: ServerResponse, body: unknown, access: ClientAccess | undefined): Promise<void> {
    const request = body as ListenRequest
    const uris = request.params?.notifications?.resourceSubscriptions
    if (Array.isArray(uris) && uris.length > limits.maxSubscriptionsPerSession) {
      return refuse(res, request.id, -32602, `Too many resource subscriptions (${uris.length}; limit ${limits.maxSubscriptionsPerSession}). Try this: follow fewer resources, or raise maxSubscriptionsPerSession.`)
    }
    const name = access?.name
    const clients = [`address ${req.socket.remoteAddress}`, ...(name === undefined ? [] : [`client ${name}`])]
    if (!streams.admit(res, clients)) {
      return refuse(res, request.id, -32000, `Too many listen streams from this client (limit ${limits.maxListenStreamsPerClient}). Try this: close streams you no longer use, or raise maxListenStreamsPerClient.`)
    }
    if (isTaskListen(body)) return serveTaskListen(res, body, router.taskFeed(listenCaller(request, access)))
    // A listen stream asking for resource updates: the owning upstreams must be asked for them too.
    if (Array.isArray(uris)) await Promise.allSettled(uris.map((uri) => router.subscribeUpstream(String(uri))))
    await serveListen(req, res, body)
  }

  // One surface per client access, not one per request (an access object is its client's for as long as it lives).
  const surfaces = new WeakMap<ClientAccess, ClientSurface<Caller>>()
  const defaultSurface = surfaceFor(router, defaultAccess)
  const surfaceOf = (access: ClientAccess | undefined) => {
    if (!access) return defaultSurface
    let surface = surfaces.get(access)
    if (!surface) surfaces.set(access, (surface = surfaceFor(router, access)))
    return surface
  }
  const codec = createModernCodec({
    serverInfo: info,
    sealer,
    methods: frontMethods(router, 'modern'),
    inputSchemaOf: (tool) => inputSchemaOf(router, tool),
    surfaceFor: surfaceOf,
    discover: () => ({ supportedVersions: MODERN_VERSIONS, capabilities: MODERN_CAPABILITIES, ...optional('instructions', router.instructions()) }),
    passOn: new Map([['subscriptions/listen', listen]]),
  })
  return {
    handle: (req: IncomingMessage, res: ServerResponse, body: unknown, principal?: unknown) => codec.handle(req, res, body, principal as ClientAccess | undefined),
    keepAlive: () => {
      codec.keepAlive()
      streams.quiet.keepAlive()
    },
    close: async () => {
      await listenHandler.close()
    },
  }
}

const optional = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value })

/** The SDK's stdio line limit (10 MiB): a longer line ends the connection, and is not looked at here. */
const MAX_STDIO_LINE = 10 * 1024 * 1024

/**
 * Answers on `stdout` each request on `stdin` that the SDK's stdio transport drops without an answer (an
 * envelope its request check refuses: jsonrpc.ts). It reads beside the SDK, which still drops the line.
 */
function answerRefusedLines(stdin: NodeJS.ReadableStream, stdout: NodeJS.WritableStream): () => void {
  let partial = ''
  const decoder = new StringDecoder('utf8')
  const onData = (chunk: Buffer | string) => {
    const lines = (partial + (typeof chunk === 'string' ? chunk : decoder.write(chunk))).split('\n')
    partial = lines.pop() ?? ''
    if (partial.length > MAX_STDIO_LINE) partial = ''
    for (const line of lines) {
      const message = parseJsonRpcLine(line)
      const refusal = message && refusedRequest(message)
      if (refusal) stdout.write(`${JSON.stringify(refusal)}\n`)
    }
  }
  stdin.on('data', onData)
  return () => void stdin.off('data', onData)
}

/**
 * The gateway on stdio, both eras: the client's opening exchange pins the connection's era (the SDK's
 * `serveStdio`). A 2025 connection is a session like any HTTP one, told about list changes.
 */
export function serveGatewayStdio(
  router: Router,
  info: { name: string; version: string },
  sealer: StateSealer,
  access?: ClientAccess,
) {
  const handle = serveStdio((context: McpRequestContext) => createStdioServer(router, info, sealer, context.era, access))
  // After serveStdio, whose transport is reading stdin by then: this listener must not start the flow first.
  const stopAnswering = answerRefusedLines(process.stdin, process.stdout)
  return {
    close: async () => {
      stopAnswering()
      await handle.close()
    },
  }
}
