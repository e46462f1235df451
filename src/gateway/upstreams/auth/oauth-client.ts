import { createHash, randomBytes } from 'node:crypto'
import { exchangeAuthorization, type OAuthTokens, refreshAuthorization, startAuthorization } from '@modelcontextprotocol/client'
import type { Principal } from '../../../http/principal.js'
import type { UpstreamAuth } from '../../types.js'
import { AuthorizationServer, type Discovered, UpstreamAuthError } from './authorization-server.js'
import { ConsentBoard, type ConsentOutcome, MemoryConsentSpace, type PendingAuthorization } from './consents.js'
import type { StoredTokens, TokenStore } from './token-store.js'


export const AUTH_MODES = ['per-user', 'on-behalf-of', 'as-itself'] as const

/** Refreshed (or exchanged again) this long before it expires. */
const EXPIRY_MARGIN_MS = 60_000
/** How long an authorization waits for its callback (and its outcome is kept for the call waiting on it). */
const PENDING_MS = 10 * 60_000


/** Who a principal is, across its tokens: issuer and subject (the store's key prefix). */
export function principalKey(principal: Principal): string {
  return `${String(principal.claims.iss ?? '')} ${principal.sub ?? principal.name}`
}

/** A consent the gateway asks a caller for: where to send their browser, and its state (consentOutcome). */
export interface Consent {
  url: string
  elicitationId: string
}

/**
 * The gateway as an OAuth 2.1 client of one protected upstream (per registration): discovery (RFC 9728,
 * then RFC 8414 / OIDC with the issuer checked), its client identity, and the access token each request
 * needs: its own (client credentials), one exchanged for the caller (RFC 8693), or the caller's own
 * (authorization code + PKCE + `resource`, kept in the token store and refreshed before it expires).
 */
export class UpstreamOAuth {
  private readonly server: AuthorizationServer
  private service: { token: string; expiresAt: number } | undefined
  /** Exchanged tokens by principal and subject token (hashed): in memory only, re-exchanged when lost. */
  private readonly exchanged = new Map<string, { token: string; expiresAt: number }>()
  /** Scopes a challenge asked for beyond what was granted (step-up on insufficient_scope). */
  private stepUpScope: string | undefined
  /** The scope the upstream's last 401 named. */
  private challengeScope: string | undefined
  /**
   * The user whose authorization the gateway's own requests (handshake, lists, pings) ride on where it has
   * no credentials of its own (a public client): the last one who consented.
   */
  private lister: Principal | undefined
  /** The authorization server refused this per-user client a client-credentials token: not asked again. */
  private noServiceToken = false
  /** Refreshes in flight by key: one refresh per refresh token, however many calls need it. */
  private readonly refreshing = new Map<string, Promise<StoredTokens | undefined>>()

  constructor(
    readonly resource: string,
    readonly config: UpstreamAuth,
    private readonly store: () => Promise<TokenStore>,
    private readonly gateway: { redirectUri(): string; clientMetadataUrl(): string | undefined },
    /** Pending authorizations, shared with the other replicas when the store is (default: this process's). */
    private readonly consents: () => Promise<ConsentBoard> = localConsents(),
  ) {
    this.server = new AuthorizationServer(resource, config, gateway)
  }

  /** The upstream's authorization server, found once (authorization-server.ts). */
  discover(resourceMetadataUrl?: string): Promise<Discovered> {
    return this.server.discover(resourceMetadataUrl)
  }

  /**
   * The upstream refused a request with 401: where its metadata is (found there from now on), the scope it
   * wants, for the next consent; a refused token means the authorization server may have changed.
   */
  challenged(challenge: { resourceMetadataUrl?: string; scope?: string; refusedToken: boolean }): void {
    if (challenge.refusedToken) this.server.rediscover()
    if (challenge.resourceMetadataUrl) void this.server.discover(challenge.resourceMetadataUrl).catch(() => {})
    this.challengeScope = challenge.scope
  }

  /**
   * The token of the gateway's own requests: its client credentials, else (per user, public client) the
   * authorization of the last user who consented; undefined until someone has.
   */
  async ownToken(): Promise<string | undefined> {
    if (this.config.mode !== 'per-user') return this.serviceToken()
    const confidential = this.config.clientSecret !== undefined || this.config.privateKey !== undefined
    if (confidential && !this.noServiceToken) {
      try {
        const service = await this.serviceToken()
        if (service) return service
      } catch {
        this.noServiceToken = true
      }
    }
    return this.lister && this.userToken(this.lister)
  }

  /** True when the gateway's own requests have a token to go with (else the first user to list consents for them). */
  async hasOwnToken(): Promise<boolean> {
    return (await this.ownToken().catch(() => undefined)) !== undefined
  }

  /** The gateway's own requests ride on `principal`'s authorization from now on (they consented). */
  listAs(principal: Principal): void {
    this.lister = principal
  }

  private storeKey(principal: Principal): string {
    return `${principalKey(principal)}\u0000${this.resource}`
  }

  private scope(extra?: string): string | undefined {
    return unionOf(this.config.scope, extra, this.stepUpScope)
  }

  /** The gateway's own token (client credentials), cached until shortly before it expires; undefined for a public client. */
  async serviceToken(): Promise<string | undefined> {
    if (this.service && this.service.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return this.service.token
    const client = await this.server.client()
    if (!client.client_secret && !this.config.privateKey) return undefined
    const { resource, scopesSupported } = await this.server.discover()
    const scope = this.scope() ?? scopesSupported?.join(' ')
    const tokens = await this.server.tokenRequest(new URLSearchParams({ grant_type: 'client_credentials', resource, ...(scope ? { scope } : {}) }))
    this.service = { token: tokens.access_token, expiresAt: expiryOf(tokens) ?? Date.now() + 5 * 60_000 }
    return tokens.access_token
  }

  /** The caller's front token exchanged for one whose audience is this upstream (RFC 8693), cached until it expires. */
  async exchangedToken(principal: Principal, subjectToken: string): Promise<string> {
    const key = `${principalKey(principal)}\u0000${createHash('sha256').update(subjectToken).digest('base64url')}`
    const held = this.exchanged.get(key)
    if (held && held.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return held.token
    const scope = this.scope()
    const { resource } = await this.server.discover()
    const tokens = await this.server.tokenRequest(
      new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: subjectToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource,
        ...(scope ? { scope } : {}),
      }),
    )
    const subjectExpiry = typeof principal.claims.exp === 'number' ? principal.claims.exp * 1000 : Number.POSITIVE_INFINITY
    this.exchanged.set(key, { token: tokens.access_token, expiresAt: Math.min(expiryOf(tokens) ?? Date.now() + 60_000, subjectExpiry) })
    // Bounded: the oldest exchange goes first.
    if (this.exchanged.size > 10_000) this.exchanged.delete(this.exchanged.keys().next().value as string)
    return tokens.access_token
  }

  /**
   * The caller's own access token for this upstream, from the store (refreshed when it is about to expire);
   * undefined when the gateway holds none, or the refresh failed (the user is asked to consent again).
   */
  async userToken(principal: Principal): Promise<string | undefined> {
    const store = await this.store()
    const key = this.storeKey(principal)
    const held = await store.get(key)
    if (!held) return undefined
    if (held.expiresAt === undefined || held.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return held.accessToken
    if (!held.refreshToken) {
      await store.delete(key)
      return undefined
    }
    let refresh = this.refreshing.get(key)
    if (!refresh) {
      refresh = this.refresh(store, key, held).finally(() => this.refreshing.delete(key))
      this.refreshing.set(key, refresh)
    }
    return (await refresh)?.accessToken
  }

  private async refresh(store: TokenStore, key: string, held: StoredTokens): Promise<StoredTokens | undefined> {
    // As stored now, past this replica's cache: revoked (`airmcp auth revoke`) stays revoked, and a pair
    // another replica rotated first stands.
    const now = await store.fresh(key)
    if (!now) return undefined
    if (now.refreshToken !== held.refreshToken) return now
    const { metadata, resource } = await this.server.discover()
    const { client, addAuth } = await this.server.clientAuth()
    try {
      const tokens = await refreshAuthorization(metadata.issuer, {
        metadata,
        clientInformation: client,
        refreshToken: held.refreshToken!,
        resource,
        addClientAuthentication: addAuth,
      })
      // The rotated pair replaces the old one in one write: the old refresh token is never kept beside it.
      const next = storedOf(tokens, held.refreshToken)
      await store.set(key, next)
      return next
    } catch {
      // Another replica may have rotated it first: its pair stands. Otherwise revoked or expired: forget
      // it, and the next call asks the user to consent again.
      const now = await store.fresh(key)
      if (now && now.refreshToken !== held.refreshToken) return now
      await store.delete(key)
      return undefined
    }
  }

  /** Forgets what the gateway holds for `principal` here (a 401 with it, or `revoke`). */
  async forget(principal: Principal): Promise<void> {
    await (await this.store()).delete(this.storeKey(principal))
  }

  /** The upstream said the token lacks a scope: later tokens ask for it too. */
  stepUp(scope: string): void {
    this.stepUpScope = unionOf(this.stepUpScope, scope)
    this.service = undefined
    this.exchanged.clear()
  }

  /** The upstream refused the gateway's own token: its client credentials' token, else the lister's (who is asked again). */
  async dropServiceToken(): Promise<void> {
    if (this.service || this.config.mode !== 'per-user' || !this.lister) {
      this.service = undefined
      return
    }
    const lister = this.lister
    this.lister = undefined
    await this.forget(lister)
  }

  /** A consent URL for `principal` (PKCE S256, `resource`, a fresh `state`); how it ends: consentOutcome. */
  async consent(principal: Principal): Promise<Consent> {
    const { metadata, resource, scopesSupported } = await this.server.discover()
    const client = await this.server.client()
    const state = randomBytes(24).toString('base64url')
    // A refresh token where the server offers one (offline_access), so the user consents once.
    const offline = metadata.scopes_supported?.includes('offline_access') ? 'offline_access' : undefined
    // What was asked for before stays asked for on a step-up (SEP-2350).
    const scope = unionOf(this.config.scope ?? this.challengeScope ?? scopesSupported?.join(' '), this.stepUpScope, offline)
    const { authorizationUrl, codeVerifier } = await startAuthorization(metadata.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: this.gateway.redirectUri(),
      scope,
      state,
      resource,
    })
    const pending: PendingAuthorization = { key: this.storeKey(principal), resource: this.resource, verifier: codeVerifier, scope, expiresAt: Date.now() + PENDING_MS }
    await (await this.consents()).open(state, pending)
    return { url: authorizationUrl.href, elicitationId: state }
  }

  /** How the consent of `state` ends, wherever its callback lands; undefined for a state never issued. */
  async consentOutcome(state: string): Promise<ConsentOutcome | undefined> {
    return (await this.consents()).outcome(state)
  }

  /**
   * The redirect back from the authorization server, for `pending` (its state's, taken once from the
   * consent board: a replayed redirect finds nothing): `iss` the discovered issuer (RFC 9207), and the code
   * redeemed with its PKCE verifier. The outcome reaches the call waiting for it, on whichever replica.
   */
  async complete(params: URLSearchParams, pending: PendingAuthorization): Promise<void> {
    const state = params.get('state') ?? ''
    const board = await this.consents()
    try {
      const error = params.get('error')
      if (error) throw new UpstreamAuthError(`The authorization server refused: ${error}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}.`)
      const code = params.get('code')
      if (!code) throw new UpstreamAuthError('The authorization response has no code.')
      const { metadata, resource } = await this.server.discover()
      const iss = params.get('iss') ?? undefined
      // RFC 9207: compared as strings, without normalization; required where the server says it sends it.
      if (iss !== undefined && iss !== metadata.issuer) throw new UpstreamAuthError(`The authorization response names the issuer ${iss}, not ${metadata.issuer}; refused.`)
      if (iss === undefined && metadata.authorization_response_iss_parameter_supported) {
        throw new UpstreamAuthError(`The authorization response of ${metadata.issuer} has no iss, which its metadata promises; refused.`)
      }
      const { client, addAuth } = await this.server.clientAuth()
      let tokens: OAuthTokens
      try {
        tokens = await exchangeAuthorization(metadata.issuer, {
          metadata,
          clientInformation: client,
          authorizationCode: code,
          iss,
          codeVerifier: pending.verifier,
          redirectUri: this.gateway.redirectUri(),
          resource,
          addClientAuthentication: addAuth,
        })
      } catch (failure) {
        throw new UpstreamAuthError(`The authorization code was refused by ${metadata.issuer}: ${(failure as Error).message}`)
      }
      await (await this.store()).set(pending.key, storedOf(tokens))
      await board.end(state, { ok: true }, PENDING_MS)
    } catch (error) {
      const reason = error instanceof UpstreamAuthError ? error.message : 'The authorization server could not be reached.'
      await board.end(state, { ok: false, error: reason }, PENDING_MS).catch(() => {})
      throw error
    }
  }
}


/** Pending authorizations in this process only (an UpstreamOAuth outside a gateway, in tests). */
function localConsents(): () => Promise<ConsentBoard> {
  const board = new ConsentBoard(new MemoryConsentSpace(), randomBytes(32))
  return async () => board
}

function expiryOf(tokens: OAuthTokens): number | undefined {
  return typeof tokens.expires_in === 'number' ? Date.now() + tokens.expires_in * 1000 : undefined
}

function storedOf(tokens: OAuthTokens, previousRefresh?: string): StoredTokens {
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? previousRefresh,
    expiresAt: expiryOf(tokens),
    scope: tokens.scope,
  }
}

function unionOf(...scopes: (string | undefined)[]): string | undefined {
  const all = new Set(scopes.flatMap((scope) => scope?.split(' ').filter(Boolean) ?? []))
  return all.size ? [...all].join(' ') : undefined
}
