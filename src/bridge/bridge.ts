import { StreamableHTTPClientTransport, type JSONRPCMessage, type StreamableHTTPClientTransportOptions, type Transport } from '@modelcontextprotocol/client'
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio'
import { ParamHeaderMirror } from './param-headers.js'
import { SERVER_ERROR } from '../protocol/codes.js'
import { STREAM_HEAD_WAIT_MS } from '../gateway/upstreams/http-session.js'
import { SessionResumingTransport } from '../gateway/upstreams/session-resume.js'
import { redact } from '../gateway/errors.js'

/** Per long-lived signal, the controllers of the POSTs in flight; one listener on that signal serves them all. */
const inflightBySignal = new WeakMap<AbortSignal, Set<AbortController>>()

/**
 * fetch for the bridge's transport. Its POSTs carry one long-lived abort signal, on which Node 20's undici
 * leaves a listener per request: a bridge lives as long as the desktop app. Each POST gets its own signal
 * instead, aborted through a single listener on the shared one while its response headers are awaited.
 */
const withOwnSignal: typeof fetch = async (input, init) => {
  const shared = init?.signal
  if (!shared || init?.method !== 'POST') return fetch(input, init)
  let inflight = inflightBySignal.get(shared)
  if (!inflight) {
    const controllers = new Set<AbortController>()
    inflight = controllers
    inflightBySignal.set(shared, controllers)
    shared.addEventListener('abort', () => {
      for (const controller of controllers) controller.abort(shared.reason)
    }, { once: true })
  }
  const own = new AbortController()
  if (shared.aborted) own.abort(shared.reason)
  inflight.add(own)
  try {
    return await fetch(input, { ...init, signal: own.signal })
  } finally {
    inflight.delete(own)
  }
}

/**
 * The transport opens a 2025 session's GET stream once `notifications/initialized` is accepted, without
 * waiting; a request the server sends before that stream is answered is lost (it has nowhere to go), so a
 * tool call that elicits would hang. The messages after it wait for the GET's head, at most
 * STREAM_HEAD_WAIT_MS (a proxy may hold the head until the first event).
 */
class StandaloneStreamWait {
  private opened: (() => void) | undefined
  /** What the next message waits for. */
  ready: Promise<void> = Promise.resolve()

  /** fetch that notes the GET stream's answer. */
  readonly fetch: typeof fetch = async (input, init) => {
    if (init?.method !== 'GET') return withOwnSignal(input, init)
    try {
      return await fetch(input, init)
    } finally {
      this.opened?.()
    }
  }

  /** Starts `send()` in order, not waiting for its answer; after `initialized`, the next ones wait for the stream. */
  inOrder(initialized: boolean, send: () => Promise<void>): void {
    const sent = this.ready.then(send)
    if (!initialized) return
    this.ready = sent.then(
      () =>
        new Promise<void>((resolve) => {
          this.opened = resolve
          setTimeout(resolve, STREAM_HEAD_WAIT_MS).unref()
        }),
    )
  }
}

/** The HTTP side of a bridge: a Streamable HTTP client transport, or one that wraps it (a login). */
export type BridgeHttpTransport = Transport & { setProtocolVersion(version: string): void; terminateSession(): Promise<void> }

/**
 * A stdio ↔ Streamable HTTP proxy for clients that only launch commands (Claude Desktop): every message
 * from stdin goes to `url`, every message from the server goes to stdout. Resolves when either side closes.
 * Both eras pass: a 2026-07-28 message's `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers are
 * derived from its own `_meta` envelope by the SDK v2 transport; a 2025 session's version comes from its
 * `initialize` result.
 */
export async function runBridge(
  url: string,
  options: { headers?: Record<string, string>; transport?: (init: StreamableHTTPClientTransportOptions) => BridgeHttpTransport } = {},
): Promise<void> {
  for (const method of ['log', 'info', 'debug'] as const) console[method] = console.error
  const stream = new StandaloneStreamWait()
  // A restarted gateway forgets the session: a new one is started and the message repeated, unseen by the client.
  const http = new SessionResumingTransport(
    (options.transport ?? ((init) => new StreamableHTTPClientTransport(new URL(url), init)))({ requestInit: { headers: options.headers }, fetch: stream.fetch }),
    () => process.stderr.write('airmcp bridge: the gateway lost the session (restarted?); continued in a new one\n'),
  )
  const stdio = new StdioServerTransport()
  const pendingInitialize = new Set<string | number>()
  const paramHeaders = new ParamHeaderMirror()
  let closed: () => void = () => {}
  const done = new Promise<void>((resolve) => (closed = resolve))

  http.onmessage = (message) => {
    // The protocol version the server chose must be sent on every later HTTP request.
    if ('id' in message && 'result' in message && pendingInitialize.delete(message.id)) {
      const version = (message.result as { protocolVersion?: string }).protocolVersion
      if (version) http.setProtocolVersion(version)
    }
    paramHeaders.incoming(message)
    void stdio.send(message)
  }
  let closing = false
  // Closing aborts the open GET stream: that abort is the normal end, not an error to print.
  http.onerror = (error) => {
    if (!closing && error.name !== 'AbortError') process.stderr.write(`airmcp bridge: ${redact(error.message)}\n`)
  }
  http.onclose = () => closed()
  stdio.onclose = () => closed()
  stdio.onmessage = (message: JSONRPCMessage) => {
    if ('method' in message && message.method === 'initialize' && 'id' in message) pendingInitialize.add(message.id)
    const initialized = 'method' in message && message.method === 'notifications/initialized'
    const headers = paramHeaders.outgoing(message)
    stream.inOrder(initialized, () =>
      // The v1 type of the wrapper does not know `headers`; the v2 transport underneath reads them.
      http.send(message, headers as Parameters<typeof http.send>[1]).catch((error: Error) => {
        if ('id' in message && 'method' in message) {
          void stdio.send({
            jsonrpc: '2.0',
            id: message.id,
            error: { code: SERVER_ERROR, message: redact(`The gateway at ${url} is not reachable: ${error.message}`) },
          })
        }
      }),
    )
  }
  await http.start()
  await stdio.start()
  process.stdin.once('end', () => closed())
  await done
  closing = true
  await Promise.allSettled([(http.inner as BridgeHttpTransport).terminateSession(), http.close(), stdio.close()])
}
