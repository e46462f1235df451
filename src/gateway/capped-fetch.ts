import { redact, RESULT_TOO_LARGE } from './errors.js'

/**
 * fetch for the SDK's Streamable HTTP client (2026 upstreams) that holds to `maxResultBytes` like the
 * gateway's own client: a JSON answer, or one SSE event, past the limit is cut off and replaced by a
 * JSON-RPC error for that request (RESULT_TOO_LARGE), so the caller gets a clear error at once.
 */
export function cappedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init)
    const id = requestIdOf(init?.body)
    if (!res.body || id === undefined || !res.ok) return res
    const where = redact(String(input instanceof Request ? input.url : input))
    const error = JSON.stringify({
      jsonrpc: '2.0',
      id,
      error: {
        code: RESULT_TOO_LARGE,
        message: `The answer from ${where} is larger than the ${maxBytes}-byte limit. Try this: ask for less, or raise the gateway's maxResultBytes.`,
      },
    })
    const sse = (res.headers.get('content-type') ?? '').includes('text/event-stream')
    const encoder = new TextEncoder()
    let size = 0
    let tail = ''
    const decoder = new TextDecoder()
    const reader = res.body.getReader()
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read()
        if (done) return controller.close()
        size += value.byteLength
        if (sse) {
          // Bytes since the last event boundary: one event may not pass the limit.
          const text = tail + decoder.decode(value, { stream: true })
          const boundary = Math.max(text.lastIndexOf('\n\n'), text.lastIndexOf('\r\n\r\n'))
          if (boundary >= 0) size = Buffer.byteLength(text.slice(boundary))
          tail = text.slice(Math.max(0, text.length - 3))
        }
        if (size <= maxBytes) return controller.enqueue(value)
        void reader.cancel().catch(() => {})
        controller.enqueue(encoder.encode(sse ? `\n\nevent: message\ndata: ${error}\n\n` : ''))
        controller.close()
      },
      cancel: (reason) => reader.cancel(reason),
    })
    if (!sse) {
      // A JSON answer is read whole by the SDK: past the limit, the error stands in for it.
      const chunks: Uint8Array[] = []
      const whole = body.getReader()
      for (;;) {
        const { done, value } = await whole.read()
        if (done) break
        chunks.push(value)
      }
      const complete = size <= maxBytes
      return new Response(complete ? Buffer.concat(chunks) : error, { status: res.status, headers: res.headers })
    }
    return new Response(body, { status: res.status, headers: res.headers })
  }
}

function requestIdOf(body: unknown): string | number | undefined {
  if (typeof body !== 'string' || body.length > 1_000_000) return undefined
  try {
    const message = JSON.parse(body) as { id?: unknown; method?: unknown }
    return typeof message.method === 'string' && (typeof message.id === 'string' || typeof message.id === 'number') ? message.id : undefined
  } catch {
    return undefined
  }
}
