import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One span as an OTLP/HTTP JSON export carries it, with its resource's service.name. */
export interface ReceivedSpan {
  service: string
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  kind: number
  attributes: Record<string, unknown>
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }

const valueOf = (v: AnyValue) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue

/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1: it decodes the JSON exports sent to `/v1/traces` (the
 * encoding @opentelemetry/exporter-trace-otlp-http uses by default) and keeps every span.
 */
export async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = []
  const waiters: { test: () => boolean; resolve: () => void }[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !(req.headers['content-type'] ?? '').includes('application/json')) {
        res.writeHead(415).end()
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = Object.fromEntries(
          (resourceSpans.resource?.attributes ?? []).map((a: { key: string; value: AnyValue }) => [a.key, valueOf(a.value)]),
        )
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service: String(resource['service.name']),
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              attributes: Object.fromEntries(
                (span.attributes ?? []).map((a: { key: string; value: AnyValue }) => [a.key, valueOf(a.value)]),
              ),
            })
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      for (const waiter of [...waiters]) {
        if (waiter.test()) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve()
        }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    /** Resolves once the received spans satisfy `test` (rejects after `ms`, a generous upper bound). */
    until(test: () => boolean, ms = 30_000): Promise<void> {
      if (test()) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`spans never arrived; got ${JSON.stringify(spans, null, 1)}`)), ms)
        waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) })
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
