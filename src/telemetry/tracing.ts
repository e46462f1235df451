import { context, propagation, ROOT_CONTEXT, trace, type Context, type TextMapGetter } from '@opentelemetry/api'
import { tracingEnvironment, type TracingEnvironment } from '../config/environment.js'
import { log } from './log.js'

/**
 * Tracing of a gateway or a server. `true` or an object turns it on; by default it is on only when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set.
 */
export type TracingOption =
  | boolean
  | {
      /** OTLP/HTTP base URL (spans go to `<endpoint>/v1/traces`); default from `OTEL_EXPORTER_OTLP_ENDPOINT`. */
      endpoint?: string
      /** `service.name` of the spans; default `OTEL_SERVICE_NAME`, else the gateway's or server's name. */
      serviceName?: string
    }

/** W3C trace context as carried in an HTTP header set or in a request's `params._meta`. */
export type TraceCarrier = Record<string, unknown>

interface Sdk {
  shutdown(): Promise<void>
  forceFlush(): Promise<void>
}

let sdk: Promise<Sdk | undefined> | undefined
let ours = false

/** Whether this option (with the environment) asks for our own OTLP exporter. */
export function tracingRequested(option: TracingOption | undefined, env: TracingEnvironment): boolean {
  if (env.disabled || option === false) return false
  if (option === true || typeof option === 'object') return true
  return env.endpoint !== undefined
}

/**
 * True when spans are worth making: our SDK is loaded, or the application registered its own tracer
 * provider (a library uses the API and leaves the SDK to the application). Checked once per start.
 */
export function tracingActive(): boolean {
  if (ours) return true
  const provider = trace.getTracerProvider() as { getDelegate?: () => object }
  const delegate = provider.getDelegate?.() ?? provider
  return delegate.constructor?.name !== 'NoopTracerProvider'
}

/** The sampler `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` name (default `parentbased_always_on`). */
function samplerFromEnv(mod: typeof import('@opentelemetry/sdk-trace'), env: TracingEnvironment) {
  const ratio = Number(env.samplerArg ?? 1)
  const byRatio = () => new mod.TraceIdRatioBasedSampler(Number.isFinite(ratio) ? ratio : 1)
  switch ((env.sampler ?? 'parentbased_always_on').trim().toLowerCase()) {
    case 'always_on':
      return new mod.AlwaysOnSampler()
    case 'always_off':
      return new mod.AlwaysOffSampler()
    case 'traceidratio':
      return byRatio()
    case 'parentbased_always_off':
      return new mod.ParentBasedSampler({ root: new mod.AlwaysOffSampler() })
    case 'parentbased_traceidratio':
      return new mod.ParentBasedSampler({ root: byRatio() })
    default:
      return new mod.ParentBasedSampler({ root: new mod.AlwaysOnSampler() })
  }
}

async function loadSdk(option: TracingOption | undefined, env: TracingEnvironment, defaultServiceName: string): Promise<Sdk | undefined> {
  const settings = typeof option === 'object' ? option : {}
  let modules
  try {
    // Loaded only now: a gateway or server without tracing never pays for the SDK.
    modules = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
    ])
  } catch (error) {
    log('error', `Tracing is on but the OpenTelemetry SDK could not be loaded: ${(error as Error).message}. ` +
      'Try this: npm install @opentelemetry/sdk-trace @opentelemetry/exporter-trace-otlp-http @opentelemetry/resources ' +
      '@opentelemetry/context-async-hooks @opentelemetry/core')
    return undefined
  }
  const [sdkTrace, { OTLPTraceExporter }, { resourceFromAttributes }, { AsyncLocalStorageContextManager }, core] = modules
  const endpoint = settings.endpoint
  const exporter = new OTLPTraceExporter(endpoint ? { url: `${endpoint.replace(/\/+$/, '')}/v1/traces` } : {})
  const delay = Number(env.scheduleDelay)
  const provider = new sdkTrace.TracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName ?? env.serviceName ?? defaultServiceName,
    }),
    sampler: samplerFromEnv(sdkTrace, env),
    spanProcessors: [
      new sdkTrace.BatchSpanProcessor({
        exporter,
        ...(Number.isFinite(delay) && delay >= 0 ? { scheduledDelayMillis: delay } : {}),
      }),
    ],
  })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  ours = true
  return provider
}

/**
 * Loads the OpenTelemetry SDK and the OTLP/HTTP exporter once per process when tracing is requested;
 * afterwards (or when the application registered its own SDK) spans are recorded. Returns whether they are.
 */
export async function startTracing(option: TracingOption | undefined, defaultServiceName: string): Promise<boolean> {
  const env = tracingEnvironment()
  if (tracingRequested(option, env)) {
    sdk ??= loadSdk(option, env, defaultServiceName)
    await sdk
  }
  return tracingActive()
}

/** Sends the spans still queued (on stop, so the last calls are not lost). */
export async function flushTracing(): Promise<void> {
  await (await sdk)?.forceFlush().catch(() => {})
}

const getter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key]
    return typeof value === 'string' || Array.isArray(value) ? (value as string | string[]) : undefined
  },
}

/** The context a `traceparent`/`tracestate` pair names (from `_meta` first, then HTTP headers). */
export function contextFrom(...carriers: (TraceCarrier | undefined)[]): Context {
  for (const carrier of carriers) {
    if (carrier && typeof carrier.traceparent === 'string') return propagation.extract(ROOT_CONTEXT, carrier, getter)
  }
  return ROOT_CONTEXT
}

/** The `traceparent` (and `tracestate`) of a context, to pass on in `_meta` or headers. */
export function carrierOf(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {}
  propagation.inject(ctx, carrier)
  return carrier
}

/** Adds the active context's `traceparent` to outgoing HTTP headers (a no-op while tracing is off). */
export function injectTraceHeaders(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers)
}

/** The `traceparent`/`tracestate` a JSON-RPC request carries in `params._meta`, as HTTP headers. */
export function traceHeadersOf(message: unknown): Record<string, string> {
  const meta = (message as { params?: { _meta?: Record<string, unknown> } }).params?._meta
  if (!meta || typeof meta.traceparent !== 'string') return {}
  return typeof meta.tracestate === 'string'
    ? { traceparent: meta.traceparent, tracestate: meta.tracestate }
    : { traceparent: meta.traceparent }
}

/** Request headers plus the active span's `traceparent` (the same headers when nothing is traced). */
export function withActiveTraceHeaders(headers: RequestInit['headers']): RequestInit['headers'] {
  const carrier: Record<string, string> = {}
  propagation.inject(context.active(), carrier)
  if (!carrier.traceparent) return headers
  const merged = new Headers(headers)
  for (const [key, value] of Object.entries(carrier)) merged.set(key, value)
  return merged
}

/**
 * The view of a node:http request that SDK v2 servers expose to handlers as `ctx.http.req` (only its
 * header lookup), so a 2025-era session over our own transports shows its `traceparent` header too.
 */
export function requestHeadersView(headers: Record<string, string | string[] | undefined>): { headers: { get(name: string): string | null } } {
  return {
    headers: {
      get(name: string) {
        const value = headers[name.toLowerCase()]
        return Array.isArray(value) ? value.join(', ') : (value ?? null)
      },
    },
  }
}
