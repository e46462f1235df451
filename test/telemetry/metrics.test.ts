import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { Gateway, type GatewayOptions } from 'airmcp/gateway'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

interface Sample {
  labels?: Record<string, string>
  value?: string
}
interface Family {
  name: string
  type: string
  metrics: Sample[]
}

const gateways: Gateway[] = []

afterEach(async () => {
  await closeClients()
  await Promise.all(gateways.splice(0).map((g) => g.stop()))
  await killAll()
})

async function startGateway(options: Partial<GatewayOptions>, register: (g: Gateway) => void = () => {}): Promise<Gateway> {
  const gateway = new Gateway({ name: 'metrics-gateway', port: 0, handleSignals: false, ...options })
  register(gateway)
  gateways.push(gateway)
  await gateway.start()
  return gateway
}

/**
 * GET /metrics parsed with a Prometheus text-format parser. The parser folds a histogram with labels
 * besides `le` into one sample, so the text is parsed twice: as it is (types), and without the histogram
 * comment lines, which makes each `_bucket`/`_count`/`_sum` series a plain sample with all its labels.
 */
async function scrape(base: string, token?: string): Promise<Family[]> {
  const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  const typed = parsePrometheusTextFormat(text) as Family[]
  const histograms = typed.filter((f) => f.type === 'HISTOGRAM').map((f) => f.name)
  const isHistogramComment = (line: string) =>
    histograms.some((name) => line === `# TYPE ${name} histogram` || line.startsWith(`# HELP ${name} `))
  const series = parsePrometheusTextFormat(text.split('\n').filter((line) => !isHistogramComment(line)).join('\n')) as Family[]
  return [...typed, ...series.filter((f) => f.type === 'UNTYPED')]
}

/**
 * Scrapes until `ready` holds: readiness read from the gateway's own /metrics. The 30 s deadline is an upper
 * bound for a loaded machine (a stdio child restarting under tsx can take seconds), not an expectation.
 */
async function scrapeUntil(base: string, ready: (families: Family[]) => boolean): Promise<Family[]> {
  const deadline = Date.now() + 30_000
  let families = await scrape(base)
  while (!ready(families) && Date.now() < deadline) families = await scrape(base)
  return families
}

function family(families: Family[], name: string): Family {
  const found = families.find((f) => f.name === name)
  if (!found) throw new Error(`no metric family ${name} in ${families.map((f) => f.name).join(', ')}`)
  return found
}

/** The sample whose labels include these, in the families of that name (series may come in several runs). */
function sample(families: Family[], name: string, labels: Record<string, string>): Sample | undefined {
  family(families, name)
  return families
    .filter((f) => f.name === name)
    .flatMap((f) => f.metrics)
    .find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
}

const value = (families: Family[], name: string, labels: Record<string, string>) =>
  Number(sample(families, name, labels)?.value ?? 0)

/** A raw GET with a chosen Host header (fetch does not let a caller set it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('metrics', () => {
  it('counts calls by server, tool and outcome, with durations, in-flight calls, sessions, upstreams and reconnects', async () => {
    const replica = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], {
      env: { REPLICA: 'a', TRANSPORT: 'http', AIRMCP_PORT: '0' },
    })
    // requestTimeout bounds every call here, not only the hanging one: 3 s leaves a loaded machine room for
    // the others (and for the cancelled call to be seen in flight first). connectTimeout is an upper bound too.
    const gateway = await startGateway({ requestTimeout: 3000, connectTimeout: 30_000, reconnectDelay: 50 }, (g) => {
      g.register({ id: 'search-1', name: 'search', connection: { type: 'http', url: replica.url } })
      g.register({
        id: 'sink-1',
        name: 'sink',
        connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'], cwd: ROOT },
      })
      g.register({
        id: 'worker-1',
        name: 'worker',
        connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], env: { TRANSPORT: 'stdio', REPLICA: 'w' }, cwd: ROOT },
      })
    })
    const base = new URL(gateway.url!).origin
    const client = await connectClient('http', gateway.url!)

    // Known calls: 3 ok, 2 tool errors, 1 timeout (the gateway's requestTimeout), 1 cancelled by the client.
    for (let i = 0; i < 3; i++) expect(textOf(await client.callTool({ name: 'search__echo', arguments: { text: `hi ${i}` } }))).toBe(`hi ${i}`)
    for (let i = 0; i < 2; i++) expect((await client.callTool({ name: 'fail' })).isError).toBe(true)
    await expect(client.callTool({ name: 'search__hang' })).rejects.toThrow(/did not answer/)
    const cancel = new AbortController()
    const cancelled = client.callTool({ name: 'slow' }, undefined, { signal: cancel.signal })
    // The call is in flight once the gauge says so (bounded polling of a real condition).
    let families = await scrapeUntil(base, (f) => value(f, 'airmcp_tool_calls_in_flight', { server: 'sink' }) === 1)
    expect(value(families, 'airmcp_tool_calls_in_flight', { server: 'sink' })).toBe(1)
    cancel.abort()
    await expect(cancelled).rejects.toThrow()
    families = await scrapeUntil(base, (f) => value(f, 'airmcp_tool_calls_total', { tool: 'slow' }) > 0)

    const calls = (server: string, tool: string, outcome: string) => value(families, 'airmcp_tool_calls_total', { server, tool, outcome })
    expect(family(families, 'airmcp_tool_calls_total').type).toBe('COUNTER')
    expect(calls('search', 'echo', 'ok')).toBe(3)
    expect(calls('sink', 'fail', 'tool_error')).toBe(2)
    expect(calls('search', 'hang', 'timeout')).toBe(1)
    expect(calls('sink', 'slow', 'cancelled')).toBe(1)
    expect(value(families, 'airmcp_tool_calls_in_flight', { server: 'sink' })).toBe(0)

    const histogram = family(families, 'airmcp_tool_call_duration_seconds')
    expect(histogram.type).toBe('HISTOGRAM')
    const durations = (suffix: string, labels: Record<string, string>) => value(families, `airmcp_tool_call_duration_seconds_${suffix}`, labels)
    const echo = { server: 'search', tool: 'echo', outcome: 'ok' }
    expect(durations('count', echo)).toBe(3)
    expect(durations('bucket', { ...echo, le: '+Inf' })).toBe(3)
    expect(durations('count', { server: 'sink', tool: 'fail', outcome: 'tool_error' })).toBe(2)
    const timeout = { server: 'search', tool: 'hang', outcome: 'timeout' }
    expect(durations('count', timeout)).toBe(1)
    // The timed-out call took at least the request timeout (3 s): it is in no bucket below that.
    expect(durations('bucket', { ...timeout, le: '2.5' })).toBe(0)
    expect(durations('sum', timeout)).toBeGreaterThanOrEqual(2.9)

    expect(value(families, 'airmcp_sessions_open', {})).toBe(1)
    expect(value(families, 'airmcp_upstream_up', { server: 'search', upstream: 'search-1' })).toBe(1)
    expect(value(families, 'airmcp_upstream_up', { server: 'sink', upstream: 'sink-1' })).toBe(1)

    // A stdio upstream that dies is restarted: the reconnect is counted once it is back.
    const pid = Number(textOf(await client.callTool({ name: 'worker__pid' })))
    process.kill(pid, 'SIGKILL')
    families = await scrapeUntil(base, (f) => value(f, 'airmcp_upstream_reconnects_total', { upstream: 'worker-1' }) > 0)
    expect(value(families, 'airmcp_upstream_reconnects_total', { server: 'worker', upstream: 'worker-1' })).toBe(1)
    expect(value(families, 'airmcp_upstream_up', { server: 'worker', upstream: 'worker-1' })).toBe(1)

    // The upstream server counts the same calls per tool on its own /metrics.
    const upstream = await scrape(new URL(replica.url).origin)
    expect(value(upstream, 'airmcp_tool_calls_total', { server: 'replica-a', tool: 'echo', outcome: 'ok' })).toBe(3)
    expect(value(upstream, 'airmcp_tool_call_duration_seconds_count', { tool: 'echo', outcome: 'ok' })).toBe(3)
  }, 120_000)

  it('is behind the Host/Origin checks and the token; each gateway has its own registry; it can be turned off', async () => {
    const guarded = await startGateway({ authToken: 'front-secret', metricsToken: 'scrape-secret' })
    const plain = await startGateway({ name: 'second' })
    const off = await startGateway({ name: 'off', metrics: false })
    const base = new URL(guarded.url!).origin
    expect((await fetch(`${base}/metrics`)).status).toBe(401)
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer front-secret' } })).status).toBe(401)
    expect(await getWithHost(`${base}/metrics`, 'evil.example')).toBe(403)
    expect((await fetch(`${base}/metrics`, { headers: { origin: 'https://evil.example', authorization: 'Bearer scrape-secret' } })).status).toBe(403)
    const families = await scrape(base, 'scrape-secret')
    expect(family(families, 'airmcp_sessions_open').metrics[0].value).toBe('0')
    // A second gateway in the same process registers the same metric names without a clash.
    expect((await scrape(new URL(plain.url!).origin)).map((f) => f.name)).toContain('airmcp_tool_calls_total')
    expect((await fetch(`${new URL(off.url!).origin}/metrics`)).status).toBe(404)
  })
})
