import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseJSONRPCMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server'
import { INVALID_REQUEST } from '../protocol/codes.js'
import { isPlainMessage, refusedRequest } from './jsonrpc.js'
import { KEEP_ALIVE_COMMENT } from './keep-alive.js'
import { requestHeadersView } from '../telemetry/tracing.js'

/**
 * One session of the legacy HTTP+SSE transport (2024-11-05): `GET /sse` holds the stream that carries
 * every server message; the client posts its messages to the `endpoint` the stream announced first.
 */
export class SseSession implements Transport {
  readonly sessionId = randomUUID()
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: Transport['onmessage']
  private closed = false

  constructor(
    private readonly res: ServerResponse,
    private readonly endpoint: string,
  ) {
    res.on('close', () => void this.close())
  }

  async start(): Promise<void> {
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive' })
    this.res.write(`event: endpoint\ndata: ${encodeURI(this.endpoint)}?sessionId=${this.sessionId}\n\n`)
  }

  /** Delivers one posted message (`body` already parsed) and acknowledges it with 202. */
  handlePost(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    let message: JSONRPCMessage
    try {
      // The SDK's schema parse only for what a plain shape check does not recognise (it costs more than the call).
      message = isPlainMessage(body) ? (body as JSONRPCMessage) : parseJSONRPCMessage(body)
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: INVALID_REQUEST, message: `Invalid JSON-RPC message: ${(error as Error).message}` }, id: null }))
      return
    }
    res.writeHead(202).end('Accepted')
    // A request the SDK would drop unanswered (jsonrpc.ts) is answered on the stream instead.
    const refusal = refusedRequest(message)
    if (refusal) return void this.send(refusal as JSONRPCMessage)
    this.onmessage?.(message, { requestInfo: { headers: req.headers }, request: requestHeadersView(req.headers), authInfo: (req as { auth?: unknown }).auth } as never)
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return
    this.res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`)
  }

  /** A keep-alive tick (keep-alive.ts): the stream carries every answer, so it is never quiet for long. */
  keepAlive(): void {
    if (!this.closed) this.res.write(KEEP_ALIVE_COMMENT)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.res.end()
    this.onclose?.()
  }
}
