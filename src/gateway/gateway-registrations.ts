// The gateway's registration management: adding, removing, replacing and reconnecting upstream servers while serving, and listing them with their status.
import { gatewayEnvironment, type GatewayEnvironment } from '../config/environment.js'
import { parsePortMap, remapConnection, Upstream, type UpstreamAuthority, validateUpstreamAuth, withUpstreamOverride } from './upstreams/index.js'
import { LIMIT_DEFAULTS } from './security/index.js'
import { validateNaming } from './names/index.js'
import type { Router } from './routing/index.js'
import type { GatewayOptions, Registration, ServerInfo } from './types.js'

/** The registrations of a gateway, each an Upstream the router routes to (the base of Gateway, gateway.ts). */
export abstract class GatewayRegistrations {
  protected readonly registrations = new Map<string, Upstream>()
  /** The environment's settings (config/environment.ts), read once here: each fills or overrides an option. */
  protected readonly env: GatewayEnvironment = gatewayEnvironment()
  /** Loopback upstream ports moved by a supervisor (`AIRMCP_GATEWAY_PORT_MAP`); see port-map.ts. */
  protected upstreamPorts = parsePortMap(this.env.portMap)
  abstract readonly options: GatewayOptions
  protected abstract readonly router: Router
  protected abstract started: boolean
  /** Tokens for protected upstreams (`connection.auth`), their callback and store. */
  protected abstract readonly upstreamAuth: UpstreamAuthority

  /** Adds an upstream server; registrations with the same `name` form one load-balanced pool. */
  register(registration: Registration): this {
    if (!registration?.id || !registration.name || !registration.connection) {
      throw new TypeError('register() needs { id, name, connection }. Try this: see the README of airmcp/gateway.')
    }
    registration = withUpstreamOverride(registration, this.env.upstreamUrls)
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

  protected createUpstream(registration: Registration, reconnect?: 'on-demand'): Upstream {
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
    const next = new Map(registrations.map((r) => [r.id, { ...r, connection: remapConnection(withUpstreamOverride(r, this.env.upstreamUrls).connection, this.upstreamPorts) }]))
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

  /**
   * Drops and re-opens one registration's connection (a restarted server, a rebuilt stdio child). Client
   * sessions' own connections to it start over too: kept, they would count each restart as a crash and back off.
   */
  async reconnect(id: string): Promise<void> {
    await Promise.all([this.registrations.get(id)?.reconnect(), this.router.own?.closeRegistration(id)])
  }

  /** Every registration with its status, tools and last error. */
  list(): ServerInfo[] {
    const own = this.router.own
    return [...this.registrations.values()].map((u) => (own ? { ...u.info(), ownConnections: own.count(u.id) } : u.info()))
  }
}
