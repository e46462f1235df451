import { CallTelemetry } from '../../telemetry/calls.js'
import type { MetricsRoute } from '../../telemetry/metrics.js'
import { type HeldItem, LockGate, lockPathFrom } from '../lock/index.js'
import type { Router } from '../routing/index.js'
import type { GatewayOptions, ServerInfo } from '../types.js'

/** What the gateway's operations add to its front: `/metrics`, lock fields in `/health`, and a stop. */
export interface Operations {
  /** `GET /metrics`, when metrics are on. */
  metrics: MetricsRoute | undefined
  /** Extra fields of `/health`. */
  health(): { quarantined?: HeldItem[]; lock?: string }
  stop(): Promise<void>
}

/**
 * Sets up the lock, metrics and tracing of a gateway before its upstreams connect: a missing or broken
 * lock fails `start()` with the fix; prom-client and the OpenTelemetry SDK are loaded only when used.
 */
export async function startOperations(
  router: Router,
  options: GatewayOptions,
  state: { sessions(): number; servers(): ServerInfo[]; serveHttp: boolean },
): Promise<Operations> {
  const lockFile = lockPathFrom(options.lock)
  const gate = lockFile
    ? new LockGate(lockFile, options.lockMode ?? 'quarantine', () => router.statusChanged())
    : undefined
  router.gate = gate
  gate?.watch()

  const telemetry = new CallTelemetry('gateway', options.name)
  router.telemetry = telemetry
  await telemetry.start({
    metrics: state.serveHttp && options.metrics !== false,
    tracing: options.tracing,
    sources: {
      sessions: state.sessions,
      upstreams: () =>
        state.servers().map((s) => ({ server: s.name, upstream: s.id, up: s.status === 'connected', ownSessions: s.ownConnections ?? 0 })),
      quarantined: () => (gate?.held() ?? []).filter((h) => h.kind === 'tool').map((h) => ({ server: h.server, tool: h.name })),
    },
  })
  // An upstream that connects again after having been connected once is a reconnect.
  const seen = new Set<string>()
  router.onStatusChanged = (upstream) => {
    if (upstream.status !== 'connected') return
    if (seen.has(upstream.id)) telemetry.metrics?.reconnected(upstream.pool, upstream.id)
    seen.add(upstream.id)
  }
  const metrics = telemetry.metrics
  return {
    metrics: metrics && { token: options.metricsToken, render: () => metrics.render() },
    health: () => (gate ? { lock: gate.file, quarantined: gate.held() } : {}),
    async stop() {
      gate?.close()
      await telemetry.stop()
    },
  }
}
