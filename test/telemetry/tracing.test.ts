import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import { textOf } from '../helpers/clients.js'
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const clients: Client[] = []
const receivers: { close(): Promise<void> }[] = []

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()))
  await killAll()
  await Promise.all(receivers.splice(0).map((r) => r.close()))
})

const hex = (bytes: number) => randomBytes(bytes).toString('hex')

/** The chain client span → gateway span → upstream tool span of one trace, checked link by link. */
function chainOf(spans: ReceivedSpan[], traceId: string, clientSpanId: string) {
  const inTrace = spans.filter((s) => s.traceId === traceId)
  const gateway = inTrace.find((s) => s.parentSpanId === clientSpanId)
  const upstream = gateway && inTrace.find((s) => s.parentSpanId === gateway.spanId)
  return { inTrace, gateway, upstream }
}

describe('tracing through the gateway', () => {
  it('makes the client span the parent of the gateway span, and the gateway span the parent of the upstream tool span (HTTP and stdio)', async () => {
    const receiver = await startOtlpReceiver()
    receivers.push(receiver)
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' }
    const upstream = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], {
      env: { ...otel, REPLICA: 'search', TRANSPORT: 'http', AIRMCP_PORT: '0', OTEL_SERVICE_NAME: 'search-server' },
    })
    const gateway = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/traced-gateway.ts'], {
      env: { ...otel, UPSTREAM_HTTP: upstream.url, OTEL_SERVICE_NAME: 'traced-gateway', AIRMCP_LOG_FORMAT: 'json', AIRMCP_LOG_LEVEL: 'debug' },
    })

    // Call 1 carries the client's context in the HTTP traceparent header (to the HTTP upstream).
    const httpTrace = { traceId: hex(16), spanId: hex(8) }
    const client = new Client({ name: 'traced-client', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(gateway.url), {
        requestInit: { headers: { traceparent: `00-${httpTrace.traceId}-${httpTrace.spanId}-01` } },
      }),
    )
    clients.push(client)
    expect(textOf(await client.callTool({ name: 'search__echo', arguments: { text: 'over http' } }))).toBe('over http')

    // Call 2 carries it in _meta.traceparent (as 2026-07-28 requests do), to the stdio upstream.
    const stdioTrace = { traceId: hex(16), spanId: hex(8) }
    const result = await client.callTool({
      name: 'worker__echo',
      arguments: { text: 'over stdio' },
      _meta: { traceparent: `00-${stdioTrace.traceId}-${stdioTrace.spanId}-01` },
    })
    expect(textOf(result)).toBe('over stdio')

    // A server reached directly takes the parent from the HTTP header alone.
    const directTrace = { traceId: hex(16), spanId: hex(8) }
    const direct = new Client({ name: 'direct-client', version: '1.0.0' })
    await direct.connect(
      new StreamableHTTPClientTransport(new URL(upstream.url), {
        requestInit: { headers: { traceparent: `00-${directTrace.traceId}-${directTrace.spanId}-01` } },
      }),
    )
    clients.push(direct)
    await direct.callTool({ name: 'whoami' })

    // A 2026-07-28 request carries its context in _meta.traceparent.
    const modernTrace = { traceId: hex(16), spanId: hex(8) }
    const modern = new ModernClient({ name: 'modern-client', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
    await modern.connect(new ModernTransport(new URL(upstream.url)))
    await modern.callTool({ name: 'whoami', _meta: { traceparent: `00-${modernTrace.traceId}-${modernTrace.spanId}-01` } })
    await modern.close()

    await receiver.until(
      () =>
        receiver.spans.some((s) => s.traceId === directTrace.traceId && s.parentSpanId === directTrace.spanId) &&
        receiver.spans.some((s) => s.traceId === modernTrace.traceId && s.parentSpanId === modernTrace.spanId) &&
        !!chainOf(receiver.spans, httpTrace.traceId, httpTrace.spanId).upstream && !!chainOf(receiver.spans, stdioTrace.traceId, stdioTrace.spanId).upstream,
    )

    const viaHttp = chainOf(receiver.spans, httpTrace.traceId, httpTrace.spanId)
    expect(viaHttp.gateway).toMatchObject({
      service: 'traced-gateway',
      name: 'tools/call search__echo',
      attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'echo', 'airmcp.server': 'search', 'airmcp.upstream.id': 'search-1' },
    })
    expect(viaHttp.upstream).toMatchObject({
      service: 'search-server',
      name: 'tools/call echo',
      attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'echo', 'airmcp.server': 'replica-search', 'network.transport': 'tcp' },
    })

    const viaStdio = chainOf(receiver.spans, stdioTrace.traceId, stdioTrace.spanId)
    expect(viaStdio.gateway).toMatchObject({
      service: 'traced-gateway',
      attributes: { 'gen_ai.tool.name': 'echo', 'airmcp.server': 'worker', 'airmcp.upstream.id': 'worker-1' },
    })
    expect(viaStdio.upstream).toMatchObject({
      service: 'worker-server',
      attributes: { 'gen_ai.tool.name': 'echo', 'airmcp.server': 'replica-worker', 'network.transport': 'pipe' },
    })
    // One trace each: nothing else was recorded under these trace ids.
    expect(viaHttp.inTrace).toHaveLength(2)
    expect(viaStdio.inTrace).toHaveLength(2)

    // AIRMCP_LOG_FORMAT=json: every line of the gateway's own log is JSON; a call's line names its trace.
    const lines = gateway.stderr().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    const listening = lines.find((l) => l.component === 'gateway' && String(l.msg).includes('listening on http://'))
    expect(listening).toMatchObject({ level: 'info', server: 'traced-gateway', url: gateway.url })
    expect(Number.isNaN(Date.parse(String(listening!.time)))).toBe(false)
    // The stdio child's own JSON lines come through with the upstream that wrote them.
    expect(lines.find((l) => l.upstream === 'worker-1')).toMatchObject({ component: 'server', server: 'replica-worker' })
    const call = lines.find((l) => l.tool === 'echo' && l.server === 'search')
    expect(call).toMatchObject({ level: 'debug', outcome: 'ok', trace_id: httpTrace.traceId })
    expect(typeof call!.duration_ms).toBe('number')
  })
})
