import { startHttpHost, type HttpHost } from '../http/host.js'
import { exitOnListenError } from '../http/listen.js'
import { log } from '../telemetry/log.js'
import { gatewayAuthFromEnv, gatewayTokenFromEnv, withUpstreamOverride } from './deploy-env.js'
import { createModernHttpFront, serveGatewayStdio } from './eras.js'
import { createFrontSession } from './front.js'
import { validateNaming } from './naming.js'
import { OwnConnections } from './own-connections.js'
import { UpstreamAuthority, validateUpstreamAuth } from './upstream-auth/index.js'
import { createProtectedResource, type ProtectedResource } from '../http/oauth-resource.js'
import { AuditLog, checkAuditOption } from './audit.js'
import { accessFor, createAuthenticator, createPrincipalAuthenticator, fullAccess, validateClients, type ClientAccess } from './policy.js'
import { checkRateLimit, RateLimiter } from './rate-limit.js'
import { RequestGuard } from './request-guard.js'
import { LIMIT_DEFAULTS } from './limits.js'
import { startOperations, type Operations } from './operations.js'
import { parsePortMap, remapConnection } from './port-map.js'
import { Router } from './router.js'
import { createStateSealer, type StateSealer } from './sealed-state.js'
import { TaskIds } from './tasks.js'
import type { GatewayOptions, Registration, ServerInfo } from './types.js'
import { Upstream } from './upstream.js'
import { attachSupervisor } from './supervisor-channel.js'

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

function numberFromEnv(name: string): number | undefined {
  const value = process.env[name]
  return value === undefined || value === '' ? undefined : Number(value)
}

/**
 * One MCP endpoint over many MCP servers: tools, resources and prompts of every registration are listed
 * as one, calls are routed to the pool that owns the name, with health checks, balancing and failover.
 * @example
 * const gateway = new Gateway({ name: 'platform', port: 4000 })
 * gateway.register({ id: 'search-1', name: 'search', transport: 'sse', connection: { type: 'sse', url: 'http://localhost:3510' } })
 * await gateway.start()
 */
export class Gateway {
  private readonly router: Router
  private readonly registrations = new Map<string, Upstream>()
  private host: HttpHost | undefined
  private stdio: { close(): Promise<void> } | undefined
  private modern: { close(): Promise<void> } | undefined
  private readonly sealer: StateSealer
  private healthTimer: NodeJS.Timeout | undefined
  private started = false
  private stopping: Promise<void> | undefined
  private operations: Operations | undefined
  private readonly onSignal = () => void this.stop().then(() => process.exit(0))
  private readonly authenticate: ReturnType<typeof createAuthenticator> | ReturnType<typeof createPrincipalAuthenticator>
  private readonly protectedResource: ProtectedResource | undefined
  /** Tokens for protected upstreams (`connection.auth`), their callback and store. */
  private readonly upstreamAuth: UpstreamAuthority
  /** Loopback upstream ports moved by a supervisor (`AIRMCP_GATEWAY_PORT_MAP`); see port-map.ts. */
  private upstreamPorts = parsePortMap(process.env.AIRMCP_GATEWAY_PORT_MAP)

  constructor(readonly options: GatewayOptions) {
    if (!options?.name) throw new TypeError('new Gateway needs a name. Try this: new Gateway({ name: "my-gateway", port: 4000 }).')
    // One key across replicas lets any of them continue another's multi-round-trip request.
    const stateKey = options.stateKey ?? (process.env.AIRMCP_GATEWAY_STATE_KEY || undefined)
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
    const authToken = options.authToken ?? gatewayTokenFromEnv()
    validateClients(options.clients, authToken, options.discovery)
    if (options.stdioClient !== undefined && !options.clients?.some((c) => c.name === options.stdioClient)) {
      throw new TypeError(`stdioClient "${options.stdioClient}" is not one of clients. Try this: name a client from clients.`)
    }
    // AIRMCP_GATEWAY_OAUTH_* stand in for auth when the code sets none (a deployment's Secret).
    const auth = options.auth ?? gatewayAuthFromEnv()
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
      tokenStoreKey: options.tokenStoreKey,
      publicUrl: () => options.publicUrl ?? this.host?.url,
    })
  }

  /** Adds an upstream server; registrations with the same `name` form one load-balanced pool. */
  register(registration: Registration): this {
    if (!registration?.id || !registration.name || !registration.connection) {
      throw new TypeError('register() needs { id, name, connection }. Try this: see the README of airmcp/gateway.')
    }
    registration = withUpstreamOverride(registration)
    validateNaming(registration.id, registration.tools)
    validateUpstreamAuth(registration.id, registration.connection)
    if (registration.sessions !== undefined && registration.sessions !== 'own' && registration.sessions !== 'shared') {
      throw new TypeError(`Registration "${registration.id}": unknown sessions ${JSON.stringify(registration.sessions)}. Try this: 'own' (the default) or 'shared'.`)
    }
    if (this.registrations.has(registration.id)) {
      throw new TypeError(`A server with id "${registration.id}" is already registered. Try this: give each registration its own id.`)
    }
    registration = { ...registration, connection: remapConnection(registration.connection, this.upstreamPorts) }
    const upstream = this.createUpstream(registration)
    this.registrations.set(registration.id, upstream)
    this.router.add(upstream)
    if (this.started) void upstream.connect()
    return this
  }

  private createUpstream(registration: Registration, reconnect?: 'on-demand'): Upstream {
    return new Upstream(registration, this.router, {
      reconnect,
      upstreamAuth: this.upstreamAuth,
      connectTimeout: this.options.connectTimeout ?? 10_000,
      reconnectDelay: this.options.reconnectDelay ?? 500,
      unhealthyThreshold: this.options.unhealthyThreshold ?? 1,
      maxConcurrent: this.options.maxConcurrentPerUpstream ?? LIMIT_DEFAULTS.maxConcurrentPerUpstream,
      maxResultBytes: this.options.maxResultBytes ?? LIMIT_DEFAULTS.maxResultBytes,
      lists: {
        maxListItemDepth: this.options.maxListItemDepth ?? LIMIT_DEFAULTS.maxListItemDepth,
        maxListItemBytes: this.options.maxListItemBytes ?? LIMIT_DEFAULTS.maxListItemBytes,
        maxListPages: this.options.maxListPages ?? LIMIT_DEFAULTS.maxListPages,
        maxListItems: this.options.maxListItems ?? LIMIT_DEFAULTS.maxListItems,
        maxListBytes: this.options.maxListBytes ?? LIMIT_DEFAULTS.maxListBytes,
      },
    })
  }

  /**
   * Removes a registration while serving: its connection (or stdio child) is closed and clients get
   * `list_changed`. Returns false when no registration has that id.
   */
  async unregister(id: string): Promise<boolean> {
    const upstream = this.registrations.get(id)
    if (!upstream) return false
    this.registrations.delete(id)
    this.router.remove(upstream)
    await Promise.all([upstream.stop(), this.router.own?.closeRegistration(id)])
    this.router.statusChanged()
    return true
  }

  /**
   * Makes the registrations exactly `registrations` while serving, keeping client sessions: new ids are
   * added, missing ones removed, ones whose name or connection changed replaced; the rest stay connected.
   */
  async setRegistrations(registrations: Registration[]): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const next = new Map(registrations.map((r) => [r.id, { ...r, connection: remapConnection(withUpstreamOverride(r).connection, this.upstreamPorts) }]))
    const same = (a: Registration, b: Registration) =>
      a.name === b.name &&
      (a.transport ?? '') === (b.transport ?? '') &&
      a.sessions === b.sessions &&
      a.protocol === b.protocol &&
      JSON.stringify(a.connection) === JSON.stringify(b.connection) &&
      JSON.stringify(a.tools) === JSON.stringify(b.tools)
    const removed = [...this.registrations.keys()].filter((id) => !next.has(id))
    const changed = [...next.values()].filter((r) => this.registrations.has(r.id) && !same(r, this.registrations.get(r.id)!.registration))
    const added = [...next.values()].filter((r) => !this.registrations.has(r.id))
    await Promise.all([...removed, ...changed.map((r) => r.id)].map((id) => this.unregister(id)))
    for (const registration of [...changed, ...added]) this.register(registration)
    return { added: added.map((r) => r.id), removed, changed: changed.map((r) => r.id) }
  }

  /** Drops and re-opens one registration's connection (a restarted server, a rebuilt stdio child). */
  async reconnect(id: string): Promise<void> {
    await this.registrations.get(id)?.reconnect()
  }

  /** Every registration with its status, tools and last error. */
  list(): ServerInfo[] {
    const own = this.router.own
    return [...this.registrations.values()].map((u) => (own ? { ...u.info(), ownConnections: own.count(u.id) } : u.info()))
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
    const stdio =
      this.options.stdio ?? (process.argv.includes('--stdio') || process.env.AIRMCP_GATEWAY_STDIO === '1')
    // A wrong issuer or an unreachable JWKS is reported at start, not at the first client's request.
    if (!stdio) void this.protectedResource?.prefetch()
    if (stdio) {
      // stdout carries JSON-RPC in stdio mode: the seed's console.log lines must not corrupt it.
      for (const method of ['log', 'info', 'debug'] as const) console[method] = console.error
    }
    this.operations = await startOperations(this.router, this.options, {
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
        label: `Gateway "${this.options.name}"`,
        port: numberFromEnv('AIRMCP_GATEWAY_PORT') ?? this.options.port ?? 4000,
        host: process.env.AIRMCP_GATEWAY_HOST || this.options.host || '127.0.0.1',
        serve: { sse: true, streamable: true },
        createSession: (principal) =>
          createFrontSession(this.router, info, (principal as ClientAccess | undefined) ?? fullAccess(this.options.discovery)),
        allowedHosts: this.options.allowedHosts,
        allowedOrigins: this.options.allowedOrigins,
        maxBodyBytes: this.options.maxBodyBytes,
        sessionIdleMs: this.options.sessionIdleMs,
        sessionKey: this.options.sessionKey,
        replicaUrl: this.options.replicaUrl,
        maxSessions: this.options.maxSessions,
        maxSessionsPerClient: this.options.maxSessionsPerClient,
        maxBufferedBytesPerClient: this.options.maxBufferedBytesPerClient ?? LIMIT_DEFAULTS.maxBufferedBytesPerClient,
        requestReadTimeout: this.options.requestReadTimeout,
        authenticate: this.authenticate,
        protectedResource: this.protectedResource,
        routes: (req, res, url) => this.upstreamAuth.route(req, res, url),
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
        return exitOnListenError(error, this.options.handleSignals !== false)
      })
      log('info', `Gateway "${this.options.name}" listening on ${this.url}`, { component: 'gateway', server: this.options.name, url: this.url })
    }
    if (this.options.handleSignals !== false) {
      process.once('SIGINT', this.onSignal)
      process.once('SIGTERM', this.onSignal)
    }
    attachSupervisor({
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
      process.off('SIGINT', this.onSignal)
      process.off('SIGTERM', this.onSignal)
      clearInterval(this.healthTimer)
      await Promise.allSettled([...this.router.sessions].map((s) => s.close()))
      await this.host?.close()
      await this.modern?.close()
      await this.stdio?.close()
      await Promise.allSettled([...this.registrations.values()].map((u) => u.stop()))
      await this.router.own?.closeAll()
      await this.operations?.stop()
      this.router.guard?.audit?.close()
    })()
    return this.stopping
  }
}
