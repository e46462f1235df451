// A 2026-07-28 client on the wire, for what the SDK's client does not send or take yet (task results: its
// codec refuses `resultType: "task"`): each request self-contained, headers and `_meta` envelope consistent.

export type Result = Record<string, unknown>

/** Where a request goes and as whom: the endpoint, an optional bearer token, the declared capabilities. */
export interface WireClient {
  url: string
  token?: string
  capabilities: Result
}

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks'

/** A JSON-RPC error answer, with its code. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

let nextId = 1

/** The JSON-RPC answer in a response: its JSON body, or the last `data:` line of an SSE stream. */
export async function answerOf(res: Response): Promise<unknown> {
  const text = await res.text()
  const json = res.headers.get('content-type')?.includes('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5))
        .at(-1)!
    : text
  return JSON.parse(json)
}

/** The headers a 2026-07-28 request carries: its revision, method and (where it has one) name. */
export function headers2026(method: string, name: string | undefined): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': method,
    ...(name ? { 'mcp-name': name } : {}),
  }
}

/** The `_meta` envelope every 2026 request carries: revision, client, capabilities. */
const envelope = (client: WireClient) => ({
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'wire-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': client.capabilities,
})

/** Posts one request as a 2026 client does (headers and envelope); the HTTP response as it came. */
export function post2026(client: WireClient, method: string, params: Result): Promise<Response> {
  const name = (params.name ?? params.uri ?? params.taskId) as string | undefined
  return fetch(client.url, {
    method: 'POST',
    headers: { ...headers2026(method, name), ...(client.token ? { authorization: `Bearer ${client.token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: { ...(params._meta as Result | undefined), ...envelope(client) } } }),
  })
}

/** Sends one request; resolves with its result, rejects with an {@link RpcError}. */
export async function send(client: WireClient, method: string, params: Result): Promise<Result> {
  const answer = (await answerOf(await post2026(client, method, params))) as { result?: Result; error?: { code: number; message: string } }
  if (answer.error) throw new RpcError(answer.error.code, answer.error.message)
  return answer.result!
}

/** The JSON-RPC error code a request failed with ('answered' when it did not fail). */
export const codeOf = (request: Promise<unknown>) =>
  request.then(
    () => 'answered' as const,
    (error: { code?: number }) => error.code,
  )

/**
 * A `subscriptions/listen` stream read to its end (a task listen ends once its tasks have): every message
 * on it, in order. Rejects with an {@link RpcError} when the listen is refused.
 */
export async function listenToEnd(client: WireClient, notifications: Result, timeoutMs = 30_000): Promise<Result[]> {
  const meta = envelope(client)
  const res = await fetch(client.url, {
    method: 'POST',
    headers: { ...headers2026('subscriptions/listen', undefined), ...(client.token ? { authorization: `Bearer ${client.token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'subscriptions/listen', params: { notifications, _meta: meta } }),
    signal: AbortSignal.timeout(timeoutMs),
  })
  if (!res.headers.get('content-type')?.includes('text/event-stream')) {
    const answer = (await answerOf(res)) as { error?: { code: number; message: string } }
    throw new RpcError(answer.error?.code ?? 0, answer.error?.message ?? 'not a stream')
  }
  const text = await res.text()
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => JSON.parse(line.slice(5)) as Result)
}

/**
 * Reads a streamed answer to its end, calling `onFirstComment` once when the first keep-alive comment has
 * come (a test holds the call until then: the answer was quiet and kept open); resolves with the whole text.
 */
export async function readPastKeepAlive(res: Response, onFirstComment: () => void): Promise<string> {
  let text = ''
  let commented = false
  const decoder = new TextDecoder()
  for await (const chunk of res.body!) {
    text += decoder.decode(chunk, { stream: true })
    if (!commented && text.includes(': keepalive')) {
      commented = true
      onFirstComment()
    }
  }
  return text
}
