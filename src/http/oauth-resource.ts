import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JWTPayload, JWTVerifyGetKey } from 'jose'
import { isLoopbackHost } from '../names.js'
import { SERVER_ERROR } from '../protocol/codes.js'
import { log } from '../telemetry/log.js'
import { bearerOf } from './bearer.js'
import { HttpError } from './guards.js'
import type { Principal } from './principal.js'

/**
 * An HTTP front as an OAuth 2.1 protected resource (MCP authorization, RFC 9728): access tokens from an
 * authorization server the organisation already runs, checked on every request.
 */
export interface ResourceAuthOptions {
  /** The authorization server's issuer identifier, exactly as its metadata states it (e.g. `https://login.example.com/`). */
  issuer: string
  /** The `aud` a token must carry to be accepted here (a token minted for another resource is refused). */
  audience: string
  /** This endpoint's public URL (behind a proxy); default: `http://<Host header><path>`. */
  resource?: string
  /** Scopes listed in the metadata and in 401 challenges. */
  scopesSupported?: string[]
  /** Scopes every token must grant; a token without them gets 403 `insufficient_scope`. */
  requiredScopes?: string[]
  /** Leeway for `exp`/`nbf`, in seconds (default 30). */
  clockToleranceSec?: number
  /** The JWKS URL, when the issuer's metadata should not be asked for it. */
  jwksUri?: string
  /** RFC 7662 introspection for opaque (non-JWT) access tokens. */
  introspection?: { endpoint: string; clientId: string; clientSecret: string }
  /** Accepted signature algorithms (default: RS, PS and ES 256/384/512 and EdDSA); `none` and HMAC are refused. */
  algorithms?: string[]
  /** Largest `Authorization` header accepted, in bytes (default 8192). */
  maxTokenBytes?: number
}

/** Where and how a front checks tokens: metadata routes and the per-request check. */
export interface ProtectedResource {
  /** Answers `GET /.well-known/oauth-protected-resource[/path]`; false for any other request. */
  serveMetadata(req: IncomingMessage, res: ServerResponse, pathname: string): boolean
  /** The caller's principal from a valid token; throws an HttpError (401/403/503) carrying the challenge otherwise. */
  verify(req: IncomingMessage): Promise<Principal>
  /** The 401 for a request without a (valid) token (400 for `invalid_request`), with the challenge that says where to get one. */
  refusal(req: IncomingMessage, error?: 'invalid_token' | 'invalid_request', message?: string): HttpError
  /** The 403 for a valid token that may not do this (a client can step up to `scopes`). */
  forbidden(req: IncomingMessage, scopes: string[], message: string): HttpError
  /** Fetches the issuer's metadata and keys ahead of the first request; a failure is logged (and retried on use). */
  prefetch(): Promise<void>
}

const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']
const METADATA_PATH = '/.well-known/oauth-protected-resource'
/** How long a failed metadata or JWKS fetch is not retried: an outage costs the AS one request a second at most. */
const FETCH_BACKOFF_MS = 1000
/** Key lookups that fail because of the token (its `kid` or `alg`), not because the keys could not be fetched. */
const KEY_LOOKUP_TOKEN_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED'])

function requireSecureUrl(where: string, value: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(`auth.${where} is not a URL: ${JSON.stringify(value)}. Try this: ${where}: 'https://login.example.com/'.`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname.replace(/^\[|\]$/g, '')))) {
    throw new TypeError(`auth.${where} must use https (plain http only on loopback): ${value}. Try this: the https URL of your authorization server.`)
  }
  return url
}

/** Refuses options that would let a forged token in or point at nothing. */
export function validateAuthOptions(auth: unknown): asserts auth is ResourceAuthOptions {
  const options = auth as Partial<ResourceAuthOptions>
  if (typeof options !== 'object' || options === null) throw new TypeError('auth must be { issuer, audience }. Try this: auth: { issuer: process.env.OAUTH_ISSUER, audience: process.env.OAUTH_AUDIENCE }.')
  if (typeof options.issuer !== 'string' || !options.issuer) throw new TypeError('auth.issuer is missing (is its environment variable set?). Try this: issuer: process.env.OAUTH_ISSUER.')
  if (typeof options.audience !== 'string' || !options.audience) throw new TypeError('auth.audience is missing (is its environment variable set?). Try this: audience: process.env.OAUTH_AUDIENCE, usually this endpoint\'s public URL.')
  requireSecureUrl('issuer', options.issuer)
  if (options.jwksUri !== undefined) requireSecureUrl('jwksUri', options.jwksUri)
  if (options.introspection !== undefined) requireSecureUrl('introspection.endpoint', options.introspection.endpoint)
  if (options.resource !== undefined) new URL(options.resource)
  const refused = (options.algorithms ?? []).filter((alg) => alg === 'none' || /^HS/i.test(alg))
  if (refused.length) throw new TypeError(`auth.algorithms may not include ${refused.join(', ')}: a token signed that way can be forged. Try this: RS256, ES256 or EdDSA.`)
}

const quote = (value: string) => `"${value.replace(/["\\]/g, '')}"`

/** Splits a token's `scope` (space-separated) or `scp` (list or string) claim. */
function scopesOf(claims: Record<string, unknown>): string[] {
  const raw = claims.scope ?? claims.scp
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string')
  return typeof raw === 'string' ? raw.split(' ').filter(Boolean) : []
}

/** A verified token's claims as a principal (named by `sub` until a client policy names it). */
export function principalOf(claims: Record<string, unknown>): Principal {
  const sub = typeof claims.sub === 'string' ? claims.sub : undefined
  const clientId = typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : undefined
  return { name: sub ?? clientId ?? 'anonymous', sub, clientId, scopes: scopesOf(claims), claims }
}

async function getJson(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000), redirect: 'error' })
  if (!response.ok) throw new Error(`${url} answered ${response.status}`)
  return (await response.json()) as Record<string, unknown>
}

/** The authorization server's metadata: RFC 8414 first, then OpenID Connect discovery. */
async function discoverIssuer(issuer: string): Promise<Record<string, unknown>> {
  const url = new URL(issuer)
  const path = url.pathname.replace(/\/$/, '')
  const candidates = new Set([
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ])
  let lastError: unknown
  for (const candidate of candidates) {
    try {
      const metadata = await getJson(candidate)
      // RFC 8414 §3.3: metadata for another issuer is not this issuer's (mix-up defence).
      if (metadata.issuer !== issuer) throw new Error(`${candidate} names issuer ${JSON.stringify(metadata.issuer)}, not ${issuer}`)
      return metadata
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}

// jose is loaded only when a front has `auth` (most servers never need it), and then once.
let jose: Promise<typeof import('jose')> | undefined
const loadJose = () => (jose ??= import('jose'))

/** Runs `load` at most once at a time, keeps its result, and after a failure waits FETCH_BACKOFF_MS before trying again. */
function backedOff<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined
  let failedAt = 0
  let lastError: unknown
  return () => {
    if (pending) return pending
    if (Date.now() - failedAt < FETCH_BACKOFF_MS) return Promise.reject(lastError)
    pending = load().catch((error: unknown) => {
      failedAt = Date.now()
      lastError = error
      pending = undefined
      throw error
    })
    return pending
  }
}

/** Builds the check of one front; `path` is its MCP endpoint (the resource's path when `resource` is not set). */
export function createProtectedResource(options: ResourceAuthOptions, path = '/mcp'): ProtectedResource {
  validateAuthOptions(options)
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS
  const maxTokenBytes = options.maxTokenBytes ?? 8192
  const challengeScopes = options.requiredScopes ?? options.scopesSupported
  const resourcePath = options.resource ? new URL(options.resource).pathname.replace(/\/$/, '') : path
  const resourceOf = (req: IncomingMessage) => options.resource ?? `http://${req.headers.host ?? 'localhost'}${path}`
  const metadataUrlOf = (req: IncomingMessage) => {
    const resource = new URL(resourceOf(req))
    return `${resource.origin}${METADATA_PATH}${resource.pathname.replace(/\/$/, '')}`
  }

  const metadata = backedOff(() => discoverIssuer(options.issuer))
  const keys = backedOff(async (): Promise<JWTVerifyGetKey> => {
    const { createRemoteJWKSet } = await loadJose()
    const jwksUri = options.jwksUri ?? (await metadata()).jwks_uri
    if (typeof jwksUri !== 'string') throw new Error(`The metadata of ${options.issuer} names no jwks_uri. Try this: set auth.jwksUri.`)
    requireSecureUrl('jwksUri', jwksUri)
    // An unknown kid refetches the set at most once per cooldown, however many tokens carry one.
    const remote = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 30_000, timeoutDuration: 5000 })
    await remote.reload().catch((error: Error) => {
      throw new Error(`${jwksUri}: ${error.message}`)
    })
    let failedAt = 0
    let failure: IssuerUnavailable | undefined
    return async (header, token) => {
      if (failure && Date.now() - failedAt < FETCH_BACKOFF_MS) throw failure
      try {
        return await remote(header, token)
      } catch (error) {
        if (KEY_LOOKUP_TOKEN_ERRORS.has((error as { code?: string }).code ?? '')) throw error
        failedAt = Date.now()
        failure = new IssuerUnavailable(`${jwksUri}: ${(error as Error).message}`)
        throw failure
      }
    }
  })

  // Operators learn why tokens cannot be checked once per outage, not once per request (never with a token).
  let lastOutage = ''
  const reportOutage = (reason: string) => {
    if (reason === lastOutage) return
    lastOutage = reason
    log('warn', `Access tokens cannot be checked: ${reason}`, { component: 'auth', issuer: options.issuer })
  }

  // Tokens already checked, by digest: a client sends the same token on every request, and its signature
  // (or the introspection round trip) need not be checked again before it expires.
  const verified = new Map<string, { claims: Record<string, unknown>; until: number }>()
  const remember = (key: string, claims: Record<string, unknown>, ttlMs: number) => {
    if (verified.size >= 10_000) verified.delete(verified.keys().next().value as string)
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : Number.POSITIVE_INFINITY
    verified.set(key, { claims, until: Math.min(Date.now() + ttlMs, exp) })
  }

  async function check(token: string): Promise<Record<string, unknown>> {
    const key = createHash('sha256').update(token).digest('base64url')
    const known = verified.get(key)
    if (known && known.until > Date.now()) return known.claims
    if (token.split('.').length !== 3) {
      const claims = await introspect(token)
      remember(key, claims, 30_000)
      return claims
    }
    const claims = await verifyJwt(token)
    remember(key, claims, 5 * 60_000)
    return claims
  }

  /** RFC 7662: asks the authorization server about an opaque token (an active answer is kept up to 30 s, never past `exp`). */
  async function introspect(token: string): Promise<Record<string, unknown>> {
    const config = options.introspection
    if (!config) throw new TokenRefused('This resource accepts only JWT access tokens.')
    const answer = await getJson(config.endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    }).catch((error: Error) => {
      throw new IssuerUnavailable(error.message)
    })
    if (answer.active !== true) throw new TokenRefused('The token is not active.')
    const now = Date.now() / 1000
    const tolerance = options.clockToleranceSec ?? 30
    if (typeof answer.exp === 'number' && answer.exp + tolerance < now) throw new TokenRefused('The token has expired.')
    if (typeof answer.nbf === 'number' && answer.nbf - tolerance > now) throw new TokenRefused('The token is not valid yet.')
    if (answer.iss !== undefined && answer.iss !== options.issuer) throw new TokenRefused('The token is from another issuer.')
    const audiences = Array.isArray(answer.aud) ? answer.aud : answer.aud === undefined ? [] : [answer.aud]
    if (!audiences.includes(options.audience)) throw new TokenRefused('The token is for another resource.')
    return answer
  }

  async function verifyJwt(token: string): Promise<JWTPayload> {
    const { jwtVerify } = await loadJose()
    const getKey = await keys().catch((error: Error) => {
      throw new IssuerUnavailable(error.message)
    })
    try {
      const { payload } = await jwtVerify(token, getKey, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: options.clockToleranceSec ?? 30,
        requiredClaims: ['exp'],
      })
      return payload
    } catch (error) {
      // Only a failed key fetch is the issuer's fault; whatever else jose refuses is the token's.
      if (error instanceof IssuerUnavailable) throw error
      throw new TokenRefused(describeJoseError((error as { code?: string }).code ?? '', error as Error))
    }
  }

  function refusal(req: IncomingMessage, error?: 'invalid_token' | 'invalid_request', message = 'This endpoint needs an OAuth access token.'): HttpError {
    const parts = [`resource_metadata=${quote(metadataUrlOf(req))}`]
    if (challengeScopes?.length) parts.push(`scope=${quote(challengeScopes.join(' '))}`)
    if (error) parts.push(`error=${quote(error)}`)
    // RFC 6750 §3.1: a malformed request is a 400, a missing or bad token a 401.
    return new HttpError(error === 'invalid_request' ? 400 : 401, message, SERVER_ERROR, `Bearer ${parts.join(', ')}`)
  }

  function forbidden(req: IncomingMessage, scopes: string[], message: string): HttpError {
    const scope = scopes.length ? `, scope=${quote(scopes.join(' '))}` : ''
    return new HttpError(403, message, SERVER_ERROR, `Bearer error="insufficient_scope"${scope}, resource_metadata=${quote(metadataUrlOf(req))}`)
  }

  return {
    refusal,
    serveMetadata(req, res, pathname) {
      if (req.method !== 'GET' || (pathname !== METADATA_PATH && pathname !== `${METADATA_PATH}${resourcePath}`)) return false
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600', 'access-control-allow-origin': '*' })
      res.end(
        JSON.stringify({
          resource: resourceOf(req),
          authorization_servers: [options.issuer],
          ...(options.scopesSupported ? { scopes_supported: options.scopesSupported } : {}),
          bearer_methods_supported: ['header'],
        }),
      )
      return true
    },
    async verify(req) {
      // OAuth 2.1 §5.1.1 and the MCP spec: tokens only in the Authorization header, never in the URL.
      if (/[?&]access_token=/.test(req.url ?? '')) throw refusal(req, 'invalid_request', 'Access tokens are not accepted in the URL. Send them in the Authorization header.')
      const header = req.headers.authorization
      if (header === undefined) throw refusal(req)
      if (Buffer.byteLength(header) > maxTokenBytes) throw refusal(req, 'invalid_token', `The access token is over ${maxTokenBytes} bytes.`)
      const token = bearerOf(header)
      if (!token) throw refusal(req, undefined, 'This endpoint needs an OAuth access token: "Authorization: Bearer <token>".')
      let claims: Record<string, unknown>
      try {
        claims = await check(token)
      } catch (error) {
        if (error instanceof TokenRefused) throw refusal(req, 'invalid_token', `The access token was refused: ${error.message}`)
        if (error instanceof IssuerUnavailable) {
          reportOutage(error.message)
          throw new HttpError(503, `Access tokens cannot be checked right now (the authorization server is unreachable). Try this: retry shortly.`, SERVER_ERROR, undefined, { 'retry-after': '1' })
        }
        throw error
      }
      lastOutage = ''
      const principal = principalOf(claims)
      const missing = (options.requiredScopes ?? []).filter((scope) => !principal.scopes.includes(scope))
      if (missing.length) throw forbidden(req, options.requiredScopes ?? [], `The access token lacks the scope ${missing.join(' ')}.`)
      return principal
    },
    forbidden,
    async prefetch() {
      // Introspection-only set-ups (opaque tokens) need no keys.
      if (options.introspection && !options.jwksUri) return
      await keys().then(
        () => undefined,
        (error: Error) => reportOutage(error.message),
      )
    },
  }
}

/**
 * A host's `authenticate` for a server of its own (not the gateway): the verified principal reaches
 * handlers as the SDK's `authInfo` (`extra.principal`; the token itself stays here), and a session is
 * bound to the subject, so a refreshed token keeps it.
 */
export function principalAuthenticator(resource: ProtectedResource) {
  return async (_authorization: string | undefined, req: IncomingMessage): Promise<string> => {
    const principal = await resource.verify(req)
    const expiresAt = typeof principal.claims.exp === 'number' ? principal.claims.exp : undefined
    ;(req as { auth?: unknown }).auth = { token: '', clientId: principal.clientId ?? '', scopes: principal.scopes, expiresAt, extra: { principal } }
    return `${principal.sub ?? ''}\u0000${principal.clientId ?? ''}`
  }
}

class TokenRefused extends Error {}
class IssuerUnavailable extends Error {}

/** What went wrong with a token, in words that name no part of it. */
function describeJoseError(code: string, error: Error): string {
  if (code === 'ERR_JWT_EXPIRED') return 'it has expired.'
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return `${(error as { claim?: string }).claim ?? 'a'} claim check failed.`
  if (code === 'ERR_JOSE_ALG_NOT_ALLOWED') return 'its signature algorithm is not accepted.'
  if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JOSE_NOT_SUPPORTED') return 'it is signed with a key the issuer does not publish.'
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'its signature does not verify.'
  return 'it is malformed.'
}
