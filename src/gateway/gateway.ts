// The gateway's lifecycle: options checked at construction, start (operations, upstreams, health checks, then clients served over HTTP or stdio) and stop.
import { startHttpHost, type HttpHost } from '../http/host.js'
import { failedToStart, stopOnSignals } from '../runtime/program.js'
import { log } from '../telemetry/log.js'
import { createFrontSession, createModernHttpFront, serveGatewayStdio } from './front/index.js'
import { createProtectedResource, type ProtectedResource } from '../http/oauth-resource.js'
import {
  accessFor,
  AuditLog,
  checkAuditOption,
  checkRateLimit,
  type ClientAccess,
  createAuthenticator,
  createPrincipalAuthenticator,
  fullAccess,
  LIMIT_DEFAULTS,
  RateLimiter,
  RequestGuard,
  validateClients,
} from './security/index.js'
import { OwnConnections, UpstreamAuthority } from './upstreams/index.js'
import { GatewayRegistrations } from './gateway-registrations.js'
import { attachSupervisor, type Operations, startOperations } from './operations/index.js'
import { Router, TaskIds } from './routing/index.js'
import { createStateSealer, type StateSealer } from './calls/index.js'
import type { GatewayOptions } from './types.js'

const VERSION = '1'

/** Rate limits and the audit log, when the options ask for either; they see every forwarded request. */
function createGuard(options: GatewayOptions, authToken: string | undefined): RequestGuard | undefined {
  checkAuditOption(options.audit)
  checkRateLimit('rateLimit', options.rateLimit)
  const perClient = new Map((options.clients ?? []).flatMap((c) => (c.rateLimit === undefined ? [] : [[c.name, c.rateLimit] as const])))
  const limiter = new RateLimiter(options.rateLimit, perClient)
  const secrets = [authToken, ...(options.clients ?? []).map((c) => c.token)].filter((s): s is string => !!s)
  const audit = options.audit ? new AuditLog(options.audit, secrets) : undefined
  return audit || limiter.active ? new RequestGuard(audit, limiter.active ? limiter : undefined) : undefined
}

/**
 * One MCP endpoint over many MCP servers: tools, resources and prompts of every registration are listed
 * as one, calls are routed to the pool that owns the name, with health checks, balancing and failover.
 * @example
 * const gateway = new Gateway({ name: 'platform', port: 4000 })
 * gateway.register({ id: 'search-1', name: 'search', transport: 'sse', connection: { type: 'sse', url: 'http://localhost:3510' } })
 * await gateway.start()
 */
export class Gateway extends GatewayRegistrations {
  protected readonly router: Router
  private host: HttpHost | undefined
  private stdio: { close(): Promise<void> } | undefined
  private modern: { close(): Promise<void> } | undefined
  private readonly sealer: StateSealer
  private healthTimer: NodeJS.Timeout | undefined
  protected started = false
  private stopping: Promise<void> | undefined
  private operations: Operations | undefined
  private releaseSignals = () => {}
  private readonly authenticate: ReturnType<typeof createAuthenticator> | ReturnType<typeof createPrincipalAuthenticator>
  private readonly protectedResource: ProtectedResource | undefined
  protected readonly upstreamAuth: UpstreamAuthority

  constructor(readonly options: GatewayOptions) {
    super()
    if (!options?.name) throw new TypeError('new Gateway needs a name. Try this: new Gateway({ name: "my-gateway", port: 4000 }).')
    // One key across replicas lets any of them continue another's multi-round-trip request.
    const stateKey = options.stateKey ?? this.env.stateKey
    this.sealer = createStateSealer(stateKey)
    this.router = new Router({
      requestTimeout: options.requestTimeout ?? 30_000,
      maxRequestTotalMs: options.maxRequestTotalMs,
      balancer: options.balancer ?? 'round-robin',
      sealer: this.sealer,
      // The same key routes task ids too: any replica holding it serves tasks/* for any task.
      taskIds: new TaskIds(stateKey),
      maxConcurrentPerSession: options.maxConcurrentPerSession,
      maxArgumentDepth: options.maxArgumentDepth,
      maxSubscriptionsPerSession: options.maxSubscriptionsPerSession,
    })
    if (options.maxRequestTotalMs !== undefined && !(typeof options.maxRequestTotalMs === 'number' && options.maxRequestTotalMs > 0)) {
      throw new TypeError('maxRequestTotalMs must be a positive number of ms. Try this: maxRequestTotalMs: 600_000 (10 min).')
    }
    this.router.searchByMeaning = options.searchByMeaning ?? false
    const balancer = options.balancer ?? 'round-robin'
    if (!['round-robin', 'least-connections', 'random'].includes(balancer)) {
      throw new TypeError(`Unknown balancer "${balancer}". Try this: round-robin, least-connections or random.`)
    }
    // AIRMCP_GATEWAY_TOKEN stands in for authToken when the code sets none (deploy files pass it that way).
    const authToken = options.authToken ?? this.env.authToken
    validateClients(options.clients, authToken, options.discovery)
    if (options.stdioClient !== undefined && !options.clients?.some((c) => c.name === options.stdioClient)) {
      throw new TypeError(`stdioClient "${options.stdioClient}" is not one of clients. Try this: name a client from clients.`)
    }
    // AIRMCP_GATEWAY_OAUTH_* stand in for auth when the code sets none (a deployment's Secret).
    const auth = options.auth ?? this.env.auth
    if (options.clients?.some((c) => c.match) && !auth) {
      throw new TypeError('A client has match but the gateway has no auth. Try this: auth: { issuer, audience }, or give the client a token.')
    }
    this.protectedResource = auth && createProtectedResource(auth)
    this.authenticate = this.protectedResource
      ? createPrincipalAuthenticator({ ...options, authToken }, this.protectedResource)
      : createAuthenticator({ ...options, authToken })
    this.router.guard = createGuard(options, authToken)
    this.upstreamAuth = new UpstreamAuthority({
      tokenStore: options.tokenStore,
      tokenStoreKey: options.tokenStoreKey ?? this.env.tokenStoreKey,
      dataDir: this.env.dataDir,
      publicUrl: () => options.publicUrl ?? this.host?.url,
    })
  }

  /** The gateway's own URL (`.../mcp`) once started over HTTP. */
  get url(): string | undefined {
    return this.host ? `${this.host.url}/mcp` : undefined
  }

  get port(): number | undefined {
    return this.host?.port
  }

  /**
   * Connects every upstream (the unreachable ones keep retrying in the background), then serves clients
   * over HTTP (`/mcp`, `/sse`, `/health`) or, in stdio mode, on stdin/stdout.
   */
  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const stdio = this.options.stdio ?? this.env.stdio
    // A wrong issuer or an unreachable JWKS is reported at start, not at the first client's request.
    if (!stdio) void this.protectedResource?.prefetch()
    if (stdio) {
      // stdout carries JSON-RPC in stdio mode: the seed's console.log lines must not corrupt it.
      for (const method of ['log', 'info', 'debug'] as const) console[method] = console.error
    }
    this.operations = await startOperations(this.router, { ...this.options, lock: this.options.lock ?? this.env.lock }, {
      sessions: () => this.host?.sessionCount() ?? this.router.sessions.size,
      servers: () => this.list(),
      serveHttp: !stdio,
    })
    await Promise.all([...this.registrations.values()].map((u) => u.connect()))
    this.router.rebuild()
    const interval = this.options.healthCheckInterval ?? 15_000
    const pingTimeout = this.options.healthCheckTimeout ?? Math.min(5_000, interval)
    this.healthTimer = setInterval(() => {
      void Promise.all([...this.registrations.values()].map((u) => u.checkHealth(pingTimeout)))
    }, interval)
    this.healthTimer.unref()

    const info = { name: this.options.name, version: VERSION }
    if (stdio) {
      this.stdio = serveGatewayStdio(this.router, info, this.sealer, this.stdioAccess())
      process.stdin.once('end', () => void this.stop())
      log('info', `Gateway "${this.options.name}" serving on stdio`, { component: 'gateway', server: this.options.name })
    } else {
      // Many clients at once: each 2025 session gets its own upstream sessions (own-connections.ts).
      // A client session's own upstream session is opened again by that session's next request, not in the background.
      this.router.own = new OwnConnections((registration) => this.createUpstream(registration, 'on-demand'), {
        maxPerRegistration: this.options.maxOwnConnections,
        idleMs: this.options.ownConnectionIdleMs,
      })
      const modern = createModernHttpFront(this.router, info, this.sealer, fullAccess(this.options.discovery), {
        maxListenStreams: this.options.maxListenStreams ?? LIMIT_DEFAULTS.maxListenStreams,
        maxListenStreamsPerClient: this.options.maxListenStreamsPerClient ?? LIMIT_DEFAULTS.maxListenStreamsPerClient,
        maxSubscriptionsPerSession: this.options.maxSubscriptionsPerSession ?? LIMIT_DEFAULTS.maxSubscriptionsPerSession,
      })
      this.modern = modern
      this.host = await startHttpHost({
        modern: (req, res, body, principal) => modern.handle(req, res, body, principal),
        keepsAlive: [modern],
        label: `Gateway "${this.options.name}"`,
        port: this.env.port ?? this.options.port ?? 4000,
        host: this.env.host || this.options.host || '127.0.0.1',
        serve: { sse: true, streamable: true },
        createSession: (principal) =>
          createFrontSession(this.router, info, (principal as ClientAccess | undefined) ?? fullAccess(this.options.discovery)),
        allowedHosts: this.options.allowedHosts,
        allowedOrigins: this.options.allowedOrigins,
        maxBodyBytes: this.options.maxBodyBytes,
        sessionIdleMs: this.options.sessionIdleMs,
        keepAliveMs: this.options.keepAliveMs,
        sessionKey: this.options.sessionKey ?? this.env.sessionKey,
        replicaUrl: this.options.replicaUrl ?? this.env.replicaUrl,
        maxSessions: this.options.maxSessions,
        maxSessionsPerClient: this.options.maxSessionsPerClient,
        maxBufferedBytesPerClient: this.options.maxBufferedBytesPerClient ?? LIMIT_DEFAULTS.maxBufferedBytesPerClient,
        requestReadTimeout: this.options.requestReadTimeout,
        authenticate: this.authenticate,
        protectedResource: this.protectedResource,
        routes: (req, res, pathname, url) => this.upstreamAuth.route(req, res, pathname, url),
        metrics: this.operations.metrics,
        portEnv: 'AIRMCP_GATEWAY_PORT',
        health: () => {
          const servers = this.list()
          const healthy = servers.filter((s) => s.status === 'connected').length
          return {
            status: healthy === servers.length ? 'ok' : healthy > 0 ? 'degraded' : 'down',
            name: this.options.name,
            // /health needs no token: behind one, it names no tool (a client's policy may hide some) and
            // quotes no tool's error (it may carry a caller's data); the error's time stays.
            servers: this.authenticate
              ? servers.map(({ tools, lastCallError, ...server }) => ({ ...server, toolCount: tools.length, lastCallError: lastCallError && { at: lastCallError.at } }))
              : servers,
            ...this.operations?.health(),
          }
        },
      }).catch(async (error: unknown) => {
        // Stdio children are already running: stop them before giving up, or they outlive the gateway.
        await Promise.allSettled([...this.registrations.values()].map((u) => u.stop()))
        return failedToStart(error, this.options.handleSignals !== false)
      })
      log('info', `Gateway "${this.options.name}" listening on ${this.url}`, { component: 'gateway', server: this.options.name, url: this.url })
    }
    if (this.options.handleSignals !== false) this.releaseSignals = stopOnSignals(() => this.stop())
    attachSupervisor(this.env.supervised, {
      reconnectPool: async (pool) => {
        const ids = this.list().filter((s) => s.name === pool).map((s) => s.id)
        await Promise.all(ids.map((id) => this.reconnect(id)))
        return ids
      },
      applyRegistrations: (registrations, portMap) => {
        this.upstreamPorts = new Map(Object.entries(portMap).map(([from, to]) => [Number(from), to]))
        return this.setRegistrations(registrations)
      },
      stop: () => this.stop(),
    })
  }

  /** On stdio the launching process is the client: `stdioClient`'s policies, or everything. */
  private stdioAccess(): ClientAccess {
    const client = this.options.clients?.find((c) => c.name === this.options.stdioClient)
    return client ? accessFor(client, this.options.discovery) : fullAccess(this.options.discovery)
  }

  /** Closes client sessions, upstream connections and stdio children (with their process groups). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.releaseSignals()
      clearInterval(this.healthTimer)
      await Promise.allSettled([...this.router.sessions].map((s) => s.close()))
      await this.host?.close()
      await this.modern?.close()
      await this.stdio?.close()
      await Promise.allSettled([...this.registrations.values()].map((u) => u.stop()))
      await this.router.own?.closeAll()
      await this.operations?.stop()
      await this.upstreamAuth.close()
      this.router.guard?.audit?.close()
    })()
    return this.stopping
  }
}
