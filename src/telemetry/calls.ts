import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api'
import { REQUEST_TIMEOUT } from '../protocol/codes.js'
import { log, logEnabled } from './log.js'
import { ToolMetrics, type CallOutcome, type MetricsSources } from './metrics.js'
import { carrierOf, contextFrom, flushTracing, startTracing, type TraceCarrier, type TracingOption } from './tracing.js'

/** One tool call as telemetry sees it. */
export interface CallInfo {
  /** The server (gateway: the pool) the call goes to. */
  server: string
  /** The tool's name on that server. */
  tool: string
  /** The name the client asked for, when the gateway exposes it under another one. */
  exposedName?: string
  sessionId?: string
  requestId?: string | number
  /** Aborted when the client cancelled the call (an AbortSignal, or anything that says so). */
  signal?: { readonly aborted: boolean }
  /** Where a parent `traceparent` may be: the request's `_meta` first, then its HTTP headers. */
  carriers?: (TraceCarrier | undefined)[]
  /** `network.transport` of the span: `pipe` (stdio) or `tcp`. */
  transport?: 'pipe' | 'tcp'
}

/** What the wrapped call may use: the trace context to pass on, and a way to add span attributes. */
export interface CallScope {
  /** `traceparent`/`tracestate` of this call's span, for the upstream's `_meta`; undefined when not tracing. */
  propagate: Record<string, string> | undefined
  annotate(key: string, value: string | number | boolean): void
}

export interface TelemetryOptions {
  /** Count calls for `/metrics` (prom-client is loaded on start only then). */
  metrics: boolean
  tracing?: TracingOption
  /** Extra values read at scrape time. */
  sources: MetricsSources
}

const NO_SCOPE: CallScope = { propagate: undefined, annotate: () => {} }

/** How a call ended: its result's `isError`, a timeout, a cancellation, or any other failure. */
export function outcomeOf(result: unknown, error: unknown, signal?: { readonly aborted: boolean }): CallOutcome {
  if (signal?.aborted) return 'cancelled'
  if (error !== undefined) {
    return (error as { code?: unknown })?.code === REQUEST_TIMEOUT ? 'timeout' : 'protocol_error'
  }
  return (result as { isError?: unknown } | undefined)?.isError === true ? 'tool_error' : 'ok'
}

/**
 * Metrics, a span and a log line around every tool call of a gateway or a server. Until `start()` turns
 * them on, `run()` only calls through: a server without metrics or tracing pays one branch per call.
 */
export class CallTelemetry {
  metrics: ToolMetrics | undefined
  private tracing = false
  /** Every call is logged (AIRMCP_LOG_LEVEL=debug); read once on start, not per call. */
  private debug = false
  private readonly tracer = trace.getTracer('airmcp')

  constructor(
    /** `gateway` or `server`: the span kind's role and the log's component. */
    readonly component: 'gateway' | 'server',
    /** The gateway's or server's name (default `service.name`). */
    readonly name: string,
  ) {}

  /** Loads what the options ask for: prom-client for metrics, the OpenTelemetry SDK for tracing. */
  async start(options: TelemetryOptions): Promise<void> {
    const [metrics, tracing] = await Promise.all([
      options.metrics ? ToolMetrics.create(options.sources) : undefined,
      startTracing(options.tracing, this.name),
    ])
    this.metrics = metrics
    this.tracing = tracing
    this.debug = logEnabled('debug')
  }

  /** Flushes queued spans. */
  async stop(): Promise<void> {
    if (this.tracing) await flushTracing()
  }

  /** Runs one tool call under metrics, a span (child of the caller's `traceparent`) and a log line. */
  async run<T>(info: CallInfo, call: (scope: CallScope) => Promise<T>): Promise<T> {
    const metrics = this.metrics
    const tracing = this.tracing
    const debug = this.debug
    if (!metrics && !tracing && !debug) return call(NO_SCOPE)
    const started = performance.now()
    metrics?.callStarted(info.server)
    const span = tracing ? this.startSpan(info) : undefined
    let result: T | undefined
    let failure: unknown
    try {
      if (!span) return (result = await call(NO_SCOPE))
      const ctx = trace.setSpan(context.active(), span)
      const scope: CallScope = { propagate: carrierOf(ctx), annotate: (key, value) => span.setAttribute(key, value) }
      return (result = await context.with(ctx, call, undefined, scope))
    } catch (error) {
      failure = error ?? new Error('undefined thrown')
      throw error
    } finally {
      const seconds = (performance.now() - started) / 1000
      const outcome = outcomeOf(result, failure, info.signal)
      metrics?.callEnded(info.server, info.tool, outcome, seconds)
      if (span) endSpan(span, outcome, failure)
      const level = outcome === 'ok' || outcome === 'tool_error' ? 'debug' : 'warn'
      if (level === 'warn' || debug) {
        log(level, `${info.server} ${info.exposedName ?? info.tool} ${outcome} ${Math.round(seconds * 1e4) / 10}ms`, {
          component: this.component,
          server: info.server,
          tool: info.tool,
          outcome,
          duration_ms: Math.round(seconds * 1e4) / 10,
          trace_id: span?.spanContext().traceId,
          error: failure instanceof Error ? failure.message : undefined,
        })
      }
    }
  }

  /** `tools/call <tool>`, with the MCP semantic-convention attributes, child of the caller's context. */
  private startSpan(info: CallInfo): Span {
    const attributes: Attributes = {
      'mcp.method.name': 'tools/call',
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': info.tool,
      'airmcp.server': info.server,
      'airmcp.component': this.component,
    }
    if (info.exposedName && info.exposedName !== info.tool) attributes['airmcp.tool.exposed_name'] = info.exposedName
    if (info.sessionId) attributes['mcp.session.id'] = info.sessionId
    if (info.requestId !== undefined) attributes['jsonrpc.request.id'] = String(info.requestId)
    if (info.transport) attributes['network.transport'] = info.transport
    const parent = info.carriers ? contextFrom(...info.carriers) : context.active()
    return this.tracer.startSpan(`tools/call ${info.exposedName ?? info.tool}`, { kind: SpanKind.SERVER, attributes }, parent)
  }
}

function endSpan(span: Span, outcome: CallOutcome, failure: unknown): void {
  if (outcome !== 'ok') {
    // A JSON-RPC error is typed by its code (as the MCP conventions ask); the rest by the outcome.
    const code = (failure as { code?: unknown } | undefined)?.code
    span.setAttribute('error.type', outcome === 'protocol_error' && typeof code === 'number' ? String(code) : outcome)
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure instanceof Error ? failure.message : outcome })
  }
  span.end()
}
