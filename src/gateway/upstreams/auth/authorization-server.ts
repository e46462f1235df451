// One protected upstream's authorization server as the gateway's OAuth client sees it: discovery (RFC 9728, then RFC 8414 / OIDC with the issuer checked), the gateway's client identity there, and token requests.
import {
  type AddClientAuthentication,
  type AuthorizationServerMetadata,
  checkResourceAllowed,
  createPrivateKeyJwtAuth,
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  type FetchLike,
  type OAuthClientInformationMixed,
  type OAuthTokens,
  registerClient,
  selectClientAuthMethod,
} from '@modelcontextprotocol/client'
import type { UpstreamAuth } from '../../types.js'

/** A refusal of bad input from a server or a browser: its message is the whole story, nothing was stored. */
export class UpstreamAuthError extends Error {}

/** http: only to loopback; anything else must be https. */
export function assertSecureUrl(value: string | undefined, what: string): void {
  if (value === undefined) return
  const url = new URL(value)
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new UpstreamAuthError(`The ${what} ${url.origin} is not https (plain http is accepted on loopback only); refused.`)
  }
}

/** Metadata fetches that do not follow redirects: a document that sends us to another host is refused. */
const noRedirects: FetchLike = async (url, init) => {
  const response = await fetch(url, { ...init, redirect: 'manual' })
  if (response.status >= 300 && response.status < 400) {
    throw new UpstreamAuthError(`${new URL(String(url)).origin} redirected its OAuth metadata to ${response.headers.get('location') ?? 'elsewhere'}; refused.`)
  }
  return response
}

export interface Discovered {
  issuer: string
  /** The `resource` parameter (RFC 8707): the resource as its metadata publishes it, byte for byte. */
  resource: string
  metadata: AuthorizationServerMetadata
  scopesSupported?: string[]
}

/**
 * The authorization server of one protected upstream: found once (again after a failure), with every URL it
 * names https (http on loopback only) and no redirect followed; the gateway's client there, pre-registered,
 * by its metadata document, or registered dynamically; and token requests authenticated as configured.
 */
export class AuthorizationServer {
  private discovered: Promise<Discovered> | undefined
  /** Where the resource's metadata is, as its 401 named it (RFC 9728); a new one means discovery again. */
  private resourceMetadataUrl: string | undefined
  /** The issuer the client was registered at: credentials of one authorization server never go to another (SEP-2352). */
  private registeredAt: string | undefined
  private registered: Promise<OAuthClientInformationMixed> | undefined

  constructor(
    readonly resource: string,
    private readonly config: UpstreamAuth,
    private readonly gateway: { redirectUri(): string; clientMetadataUrl(): string | undefined },
  ) {}

  /** Discovery once (again after a failure): the resource's metadata, then its authorization server's. */
  discover(resourceMetadataUrl?: string): Promise<Discovered> {
    if (resourceMetadataUrl !== undefined && resourceMetadataUrl !== this.resourceMetadataUrl) {
      this.discovered = undefined
      this.resourceMetadataUrl = resourceMetadataUrl
    }
    this.discovered ??= this.runDiscovery(this.resourceMetadataUrl).catch((error: unknown) => {
      this.discovered = undefined
      throw error
    })
    return this.discovered
  }

  /** A token refused: the resource may have moved to another authorization server, so it is found again at next use. */
  rediscover(): void {
    this.discovered = undefined
  }

  private async runDiscovery(resourceMetadataUrl?: string): Promise<Discovered> {
    const resourceMetadata = await discoverOAuthProtectedResourceMetadata(this.resource, { resourceMetadataUrl }, noRedirects).catch(() => undefined)
    if (resourceMetadata && !checkResourceAllowed({ requestedResource: this.resource, configuredResource: resourceMetadata.resource })) {
      throw new UpstreamAuthError(`The protected resource metadata of ${this.resource} names another resource (${resourceMetadata.resource}); refused.`)
    }
    const issuer = String(resourceMetadata?.authorization_servers?.[0] ?? new URL('/', this.resource).href).replace(/\/$/, '')
    assertSecureUrl(issuer, 'authorization server')
    let metadata: AuthorizationServerMetadata | undefined
    try {
      metadata = await discoverAuthorizationServerMetadata(issuer, { fetchFn: noRedirects })
    } catch (error) {
      if (error instanceof UpstreamAuthError) throw error
      throw new UpstreamAuthError(`The authorization server metadata of ${issuer} was refused: ${(error as Error).message}`)
    }
    if (!metadata) throw new UpstreamAuthError(`No OAuth metadata found for the authorization server ${issuer}.`)
    for (const field of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint'] as const) assertSecureUrl(metadata[field] as string | undefined, field)
    if (this.registeredAt !== undefined && this.registeredAt !== metadata.issuer) this.registered = undefined
    return { issuer: metadata.issuer, resource: resourceMetadata?.resource ?? this.resource, metadata, scopesSupported: resourceMetadata?.scopes_supported }
  }

  /** The client's authentication at the token endpoint, per the configured (or registered) method. */
  async clientAuth(): Promise<{ client: OAuthClientInformationMixed; addAuth: AddClientAuthentication }> {
    const client = await this.client()
    const { metadata } = await this.discover()
    // Else the method the client was registered with, or the first the server takes (basic before post with a secret).
    const method = this.config.tokenEndpointAuthMethod ?? (this.config.privateKey ? 'private_key_jwt' : selectClientAuthMethod(client, metadata.token_endpoint_auth_methods_supported ?? []))
    const addAuth: AddClientAuthentication = async (headers, params, url, meta) => {
      if (method === 'private_key_jwt') {
        const sign = createPrivateKeyJwtAuth({
          issuer: client.client_id,
          subject: client.client_id,
          privateKey: this.config.privateKey as never,
          alg: this.config.privateKeyAlg ?? 'RS256',
          audience: metadata.issuer,
        })
        return sign(headers, params, url, meta)
      }
      if (method === 'client_secret_basic' && client.client_secret) {
        const pair = `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`
        headers.set('authorization', `Basic ${Buffer.from(pair).toString('base64')}`)
        return
      }
      params.set('client_id', client.client_id)
      if (method === 'client_secret_post' && client.client_secret) params.set('client_secret', client.client_secret)
    }
    return { client, addAuth }
  }

  /** Pre-registered, the gateway's metadata document (where the server takes one), or dynamic registration. */
  client(): Promise<OAuthClientInformationMixed> {
    this.registered ??= (async () => {
      if (this.config.clientId) return { client_id: this.config.clientId, ...(this.config.clientSecret ? { client_secret: this.config.clientSecret } : {}) }
      const { metadata } = await this.discover()
      this.registeredAt = metadata.issuer
      const documentUrl = this.config.clientMetadataUrl ?? this.gateway.clientMetadataUrl()
      if (documentUrl && (metadata as { client_id_metadata_document_supported?: boolean }).client_id_metadata_document_supported) return { client_id: documentUrl }
      if (!metadata.registration_endpoint) {
        throw new UpstreamAuthError(`The authorization server ${metadata.issuer} takes neither this gateway's client metadata document nor dynamic registration. Try this: pre-register a client and give clientId.`)
      }
      return registerClient(metadata.issuer, { metadata, clientMetadata: clientMetadataOf(this.gateway.redirectUri()) })
    })().catch((error: unknown) => {
      this.registered = undefined
      throw error
    })
    return this.registered
  }

  async tokenRequest(params: URLSearchParams): Promise<OAuthTokens> {
    const { addAuth } = await this.clientAuth()
    const { metadata } = await this.discover()
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' })
    await addAuth(headers, params, metadata.token_endpoint, metadata)
    const response = await fetch(metadata.token_endpoint, { method: 'POST', headers, body: params, redirect: 'error' })
    const body = (await response.json().catch(() => ({}))) as OAuthTokens & { error?: string; error_description?: string }
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new UpstreamAuthError(`The token endpoint of ${metadata.issuer} refused the ${params.get('grant_type')} request: ${body.error ?? `HTTP ${response.status}`}${body.error_description ? ` (${body.error_description})` : ''}.`)
    }
    return body
  }
}

/** What the gateway registers as (dynamic registration) and serves as its Client ID Metadata Document. */
export function clientMetadataOf(redirectUri: string, clientId?: string) {
  return {
    ...(clientId ? { client_id: clientId } : {}),
    client_name: 'airmcp gateway',
    // A web application: its redirect is the gateway's own https callback (SEP-837).
    application_type: 'web',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  }
}
