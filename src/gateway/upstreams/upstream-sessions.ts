// An upstream member's sessions: the 2025 session beside a 2026 connection, and per-caller authorization (whose token a session opens with, per-user or on-behalf-of).
import type { Client, Transport } from '@modelcontextprotocol/client'
import type { Principal } from '../../http/principal.js'
import type { Registration } from '../types.js'
import { authorizesPerCaller, type HttpConnection } from './auth/index.js'
import type { UpstreamOAuth } from './auth/oauth-client.js'
import { UpstreamSubscriptions } from './upstream-subscriptions.js'
import { newClient, sessionTransport } from './upstream-transports.js'

/** Which sessions a member opens and with whose token (a base of Upstream, upstream.ts). */
export abstract class UpstreamSessions extends UpstreamSubscriptions {
  /**
   * A 2025 session with the same server when it serves both revisions over Streamable HTTP: 2025 callers
   * are forwarded on it in their own revision (questions as server-to-client requests, the tool run once),
   * instead of being bridged to 2026 input rounds. Lists, health and 2026 callers use `client`.
   */
  sessionClient: Client | undefined
  /** Whose token a client session's own connection to a per-user upstream opens with (see `sessionsPerPrincipal`). */
  sessionPrincipal: Principal | undefined
  abstract readonly registration: Registration
  abstract capabilities: Record<string, unknown>
  protected abstract wire(client: Client): void
  protected abstract goDirect(client: Client, transport: Transport): void

  /** Its OAuth client where each caller authorizes it (`auth.mode: 'per-user'`; see auth/list-consent.ts). */
  get perUserAuth(): UpstreamOAuth | undefined {
    const connection = this.registration.connection as HttpConnection
    return connection.auth?.mode === 'per-user' ? this.timing.upstreamAuth?.oauthFor(connection) : undefined
  }

  /**
   * A server whose every request carries a token of its caller's (`auth.mode: 'per-user'`, or
   * `'on-behalf-of'`: the caller's exchanged) binds a session to the token's subject: a 2025 client session
   * gets an upstream 2025 session of its own, opened with its caller's token once the gateway holds one
   * (own-connections.ts). A 2026 server has no shared 2025 session beside; a 2025-only one's 2026 callers ride
   * a session of their principal's (`OwnConnections.principalSession`).
   */
  get sessionsPerPrincipal(): boolean {
    if (!authorizesPerCaller(this.registration.connection)) return false
    return this.era === 'legacy' || (this.era === 'modern' && this.registration.protocol !== '2026-07-28')
  }

  /** Whether each caller's front token is exchanged for this upstream's (`auth.mode: 'on-behalf-of'`): nobody is asked. */
  get actsOnBehalfOf(): boolean {
    return (this.registration.connection as HttpConnection).auth?.mode === 'on-behalf-of'
  }

  /** A protected upstream's HTTP transport carries the tokens its requests need (upstream-auth/). */
  protected readonly withAuth = (transport: Transport): Transport =>
    this.timing.upstreamAuth?.wrap(this.registration.connection, transport, this.sessionPrincipal) ?? transport

  /** The 2025 session beside a 2026 connection; undefined when the server refuses 2025 clients (strict 2026). */
  protected async openSessionClient(): Promise<Client | undefined> {
    const client = newClient(this.timing.connectTimeout, this.capabilities)
    this.wire(client)
    // List changes already arrive on the 2026 connection's listen stream: one refresh each, not two.
    for (const kind of ['tools', 'resources', 'prompts']) client.removeNotificationHandler(`notifications/${kind}/list_changed`)
    client.onclose = () => {
      if (this.sessionClient === client) this.sessionClient = undefined
    }
    const transport = sessionTransport(this.registration, this.timing.maxResultBytes, this.withAuth)
    try {
      await client.connect(transport, { prior: { kind: 'legacy' }, timeout: this.timing.connectTimeout })
      this.goDirect(client, transport)
      if (!this.stopped) return client
      await client.close().catch(() => {})
      return undefined
    } catch {
      await client.close().catch(() => {})
      return undefined
    }
  }

  protected closeSessionClient(): void {
    const client = this.sessionClient
    this.sessionClient = undefined
    void client?.close().catch(() => {})
  }
}
