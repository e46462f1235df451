import type { Counter, MetricValueWithName, Registry } from 'prom-client'

/** How one tool call ended, as the `outcome` label counts it. */
export type CallOutcome = 'ok' | 'tool_error' | 'protocol_error' | 'timeout' | 'cancelled'

/** Seconds; from a cache hit to a slow upstream. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** The calls of one (server, tool, outcome): counted, and their durations bucketed, on the call path. */
interface CallEntry {
  labels: { server: string; tool: string; outcome: CallOutcome }
  count: number
  /** Calls per bucket of DURATION_BUCKETS (not cumulative; the last slot is above every bound). */
  buckets: Float64Array
  sum: number
}

const DURATIONS = 'airmcp_tool_call_duration_seconds'

/**
 * The call-duration histogram as prom-client's registry reads it when scraped. Each call only adds to its
 * entry's bucket: prom-client's own `observe` hashes the labels on every call, which cost more per call
 * than the gateway's routing of it.
 */
function durationHistogram(calls: Map<string, CallEntry>) {
  return {
    name: DURATIONS,
    help: 'Duration of tool calls in seconds, by server, tool and outcome.',
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    reset() {},
    async get() {
      const values: MetricValueWithName<string>[] = []
      for (const { labels, count, buckets, sum } of calls.values()) {
        let cumulative = 0
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += buckets[i]
          values.push({ metricName: `${DURATIONS}_bucket`, labels: { ...labels, le }, value: cumulative })
        })
        values.push({ metricName: `${DURATIONS}_bucket`, labels: { ...labels, le: '+Inf' }, value: count })
        values.push({ metricName: `${DURATIONS}_sum`, labels, value: sum })
        values.push({ metricName: `${DURATIONS}_count`, labels, value: count })
      }
      return { name: DURATIONS, help: this.help, type: this.type, aggregator: this.aggregator, values }
    },
  }
}

/** Values read when `/metrics` is scraped, so nothing has to be counted on the way. */
export interface MetricsSources {
  sessions(): number
  /** Gateway: each registration with its pool, whether it is connected, and the client sessions' own upstream sessions open to it. */
  upstreams?(): { server: string; upstream: string; up: boolean; ownSessions?: number }[]
  /** Gateway: tools held back by the lock, per pool. */
  quarantined?(): { server: string; tool: string }[]
}

/**
 * The Prometheus metrics of one gateway or server, in a registry of its own (two gateways in one
 * process do not clash). On the call path nothing goes through prom-client: call counts, durations and
 * in-flight calls are plain map entries that the counter, histogram and gauge read when scraped.
 */
export class ToolMetrics {
  private readonly reconnects: Counter<'server' | 'upstream'>
  private readonly calls = new Map<string, CallEntry>()
  private readonly running = new Map<string, number>()

  private constructor(
    private readonly registry: Registry,
    prom: typeof import('prom-client'),
    sources: MetricsSources,
  ) {
    const registers = [registry]
    const calls = this.calls
    const running = this.running
    new prom.Counter({
      name: 'airmcp_tool_calls_total',
      help: 'Tool calls by server, tool and outcome (ok, tool_error, protocol_error, timeout, cancelled).',
      labelNames: ['server', 'tool', 'outcome'],
      registers,
      collect() {
        this.reset()
        for (const { labels, count } of calls.values()) this.labels(labels).inc(count)
      },
    })
    registry.registerMetric(durationHistogram(calls) as never)
    new prom.Gauge({
      name: 'airmcp_tool_calls_in_flight',
      help: 'Tool calls running now, by server.',
      labelNames: ['server'],
      registers,
      collect() {
        for (const [server, count] of running) this.labels(server).set(count)
      },
    })
    new prom.Gauge({
      name: 'airmcp_sessions_open',
      help: 'Client sessions open now.',
      registers,
      collect() {
        this.set(sources.sessions())
      },
    })
    this.reconnects = new prom.Counter({
      name: 'airmcp_upstream_reconnects_total',
      help: 'Times an upstream came back after being down, by server (pool) and upstream (registration id).',
      labelNames: ['server', 'upstream'],
      registers: sources.upstreams ? registers : [],
    })
    if (sources.upstreams) {
      const upstreams = sources.upstreams
      new prom.Gauge({
        name: 'airmcp_upstream_up',
        help: '1 when the upstream is connected and in its pool, 0 when it is down.',
        labelNames: ['server', 'upstream'],
        registers,
        collect() {
          this.reset()
          for (const u of upstreams()) this.labels(u.server, u.upstream).set(u.up ? 1 : 0)
        },
      })
      new prom.Gauge({
        name: 'airmcp_upstream_own_sessions',
        help: 'Upstream sessions (stdio children, HTTP or SSE sessions) open for single client sessions, by server (pool) and upstream.',
        labelNames: ['server', 'upstream'],
        registers,
        collect() {
          this.reset()
          for (const u of upstreams()) this.labels(u.server, u.upstream).set(u.ownSessions ?? 0)
        },
      })
    }
    if (sources.quarantined) {
      const quarantined = sources.quarantined
      new prom.Gauge({
        name: 'airmcp_tools_quarantined',
        help: 'Tools held back because they differ from airmcp.lock (1 per held tool).',
        labelNames: ['server', 'tool'],
        registers,
        collect() {
          this.reset()
          for (const q of quarantined()) this.labels(q.server, q.tool).set(1)
        },
      })
    }
  }

  /** Loads prom-client (once per process, on start, never on import) and builds the metrics. */
  static async create(sources: MetricsSources): Promise<ToolMetrics> {
    const prom = await import('prom-client')
    return new ToolMetrics(new prom.Registry(), prom, sources)
  }

  /** A call started: counts it in flight. */
  callStarted(server: string): void {
    this.running.set(server, (this.running.get(server) ?? 0) + 1)
  }

  /** A call ended: in flight down, counted by outcome, its duration observed. */
  callEnded(server: string, tool: string, outcome: CallOutcome, seconds: number): void {
    this.running.set(server, (this.running.get(server) ?? 1) - 1)
    const key = `${server}\u0000${tool}\u0000${outcome}`
    let entry = this.calls.get(key)
    if (!entry) {
      entry = { labels: { server, tool, outcome }, count: 0, buckets: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0 }
      this.calls.set(key, entry)
    }
    entry.count++
    entry.sum += seconds
    let bucket = 0
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]) bucket++
    entry.buckets[bucket]++
  }

  /** An upstream reconnected after being down. */
  reconnected(server: string, upstream: string): void {
    this.reconnects.labels(server, upstream).inc()
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}

/** How an HTTP front serves `GET /metrics`: the token it needs (if any) and the exposition. */
export interface MetricsRoute {
  token?: string
  render(): Promise<{ contentType: string; body: string }>
}
