// `airmcp bridge` as an OAuth 2.1 client (MCP authorization, both revisions). The SDK's auth() runs the
// flow (RFC 9728 → RFC 8414/OIDC discovery, registration, PKCE S256, `resource`, scopes from the
// challenge, RFC 9207 `iss`); this module is its provider: a loopback redirect, the browser, the token file.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  auth,
  type FetchLike,
  type JSONRPCMessage,
  OAuthClientFlowError,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
  type StreamableHTTPClientTransport,
  OAuthError,
  type Transport,
  UnauthorizedError,
} from '@modelcontextprotocol/client'
import { type HeldCredentials, readCredentials, writeCredentials } from './token-store.js'

export interface BridgeOAuthOptions {
  serverUrl: string
  /** The token file (see token-store.ts). */
  file: string
  /** A client registered beforehand with the authorization server (else CIMD or dynamic registration). */
  clientId?: string
  clientSecret?: string
  /** An https URL where this client's metadata document is published (Client ID Metadata Document). */
  clientMetadataUrl?: string
  /** The program that opens the authorization URL (the URL is its one argument); default: the platform's. */
  openCommand?: string
  /** The loopback port for the redirect (0: one from the OS). */
  callbackPort?: number
}

/** A login that failed in a way the user must act on; its message says what to do. */
export class BridgeLoginError extends Error {
  override name = 'BridgeLoginError'
}

/** Receives the authorization server's redirect on 127.0.0.1 and checks its `state`. */
class LoopbackRedirect {
  private pending: { state: string; resolve: (params: URLSearchParams) => void; reject: (error: Error) => void } | undefined

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    server.on('request', (req, res) => {
      const params = new URL(req.url ?? '/', url).searchParams
      if (!req.url?.startsWith('/callback')) return void res.writeHead(404).end()
      const answer = (status: number, text: string) => res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`)
      const pending = this.pending
      if (!pending) return answer(400, 'airmcp bridge: no login is in progress.')
      this.pending = undefined
      if (params.get('state') !== pending.state) {
        pending.reject(
          new BridgeLoginError('the authorization response did not carry the state of the request (a forged or stale redirect); nothing was stored. Start the login again.'),
        )
        return answer(400, 'airmcp bridge: this response does not belong to the login in progress (state mismatch). Nothing was stored.')
      }
      const error = params.get('error')
      if (error) {
        pending.reject(new BridgeLoginError(`the authorization server refused the login: ${params.get('error_description') ?? error}.`))
        return answer(400, `airmcp bridge: the login was refused (${error}).`)
      }
      pending.resolve(params)
      answer(200, 'airmcp bridge: logged in. You can close this window.')
    })
  }

  static async start(port = 0): Promise<LoopbackRedirect> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', resolve)
    })
    server.unref()
    return new LoopbackRedirect(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`)
  }

  /** The next redirect carrying `state`: its parameters (code, iss), or why it was refused. */
  expect(state: string): Promise<URLSearchParams> {
    this.pending?.reject(new BridgeLoginError('a newer login replaced this one.'))
    return new Promise((resolve, reject) => (this.pending = { state, resolve, reject }))
  }

  close(): void {
    this.server.closeAllConnections()
    this.server.close()
  }
}

/** Opens `url` in the user's browser; prints it on stderr in any case (stdout is the MCP channel). */
function openBrowser(url: string, openCommand: string | undefined): void {
  process.stderr.write(`airmcp bridge: log in to continue. If no browser opens, visit:\n${url}\n`)
  const [command, args] = openCommand
    ? [openCommand, [url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replaceAll('&', '^&')]]
        : ['xdg-open', [url]]
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true })
    child.on('error', () => process.stderr.write(`airmcp bridge: could not run "${command}"; open the URL above yourself.\n`))
    child.unref()
  } catch {
    process.stderr.write(`airmcp bridge: could not run "${command}"; open the URL above yourself.\n`)
  }
}

/** The provider the SDK's auth() drives: what it registers, stores and redirects, kept in the token file. */
export class BridgeOAuthProvider implements OAuthClientProvider {
  private held: HeldCredentials
  private verifier: string | undefined
  private discovery: OAuthDiscoveryState | undefined
  private callback: Promise<URLSearchParams> | undefined
  readonly clientMetadataUrl: string | undefined

  constructor(
    private readonly options: BridgeOAuthOptions,
    private readonly loopback: LoopbackRedirect,
  ) {
    this.held = readCredentials(options.file, options.serverUrl)
    this.clientMetadataUrl = options.clientMetadataUrl
  }

  get redirectUrl(): string {
    return this.loopback.url
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'airmcp bridge',
      client_uri: 'https://github.com/airmcp/airmcp',
      redirect_uris: [this.loopback.url],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.options.clientSecret ? 'client_secret_basic' : 'none',
      // A native app: RFC 8252 lets its loopback redirect use any port.
      application_type: 'native',
    } as OAuthClientMetadata
  }

  state(): string {
    const state = randomBytes(24).toString('base64url')
    this.callback = this.loopback.expect(state)
    // Read by login(); a refused redirect must not surface as an unhandled rejection before then.
    this.callback.catch(() => {})
    return state
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    if (this.options.clientId) {
      const secret = this.options.clientSecret
      return { client_id: this.options.clientId, ...(secret ? { client_secret: secret } : {}), ...(this.held.client?.issuer ? { issuer: this.held.client.issuer } : {}) }
    }
    return this.held.client
  }

  saveClientInformation(client: StoredOAuthClientInformation): void {
    // A pre-registered secret stays in the environment, never on disk.
    const { client_secret: _secret, ...withoutSecret } = client
    this.save({ client: this.options.clientSecret ? withoutSecret : client })
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.held.tokens
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    const lifetime = tokens.expires_in ? tokens.expires_in * 1000 : undefined
    this.save({ tokens, lifetime, expiresAt: lifetime ? Date.now() + lifetime : undefined })
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    openBrowser(authorizationUrl.href, this.options.openCommand)
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier
  }

  codeVerifier(): string {
    if (!this.verifier) throw new BridgeLoginError('no login is in progress.')
    return this.verifier
  }

  // Discovery is kept for this process only: a new bridge discovers afresh (a server may move its AS).
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined
    if (scope === 'all' || scope === 'client') this.save({ client: undefined })
    if (scope === 'all' || scope === 'tokens') this.save({ tokens: undefined, expiresAt: undefined, lifetime: undefined })
  }

  /** The redirect of the login just started (by auth()'s call to state()). */
  awaitRedirect(): Promise<URLSearchParams> {
    if (!this.callback) throw new BridgeLoginError('no login is in progress.')
    return this.callback
  }

  endLogin(): void {
    this.callback = undefined
  }

  /**
   * fetch for the transport: the server's 401 sends the next auth() through discovery again, since the
   * server may have moved to another authorization server (SEP-2352), unless a login waits on its redirect.
   */
  rediscoverOn401(fetchFn: FetchLike): FetchLike {
    return async (input, init) => {
      const response = await fetchFn(input, init)
      if (response.status === 401 && !this.callback && String(input instanceof Request ? input.url : input).startsWith(this.options.serverUrl)) {
        this.discovery = undefined
      }
      return response
    }
  }

  /** Whether the access token ends soon (within a tenth of its life, at most a minute) and can be refreshed. */
  refreshDue(now = Date.now()): boolean {
    const { tokens, expiresAt, lifetime } = this.held
    if (!tokens?.refresh_token || !expiresAt || !lifetime) return false
    return expiresAt - now <= Math.min(60_000, lifetime / 10)
  }

  /** Kept in memory; on disk only while tokens are held, so a login that fails leaves nothing behind. */
  private save(change: Partial<HeldCredentials>): void {
    this.held = { ...this.held, ...change }
    if (this.held.tokens) writeCredentials(this.options.file, this.held)
    else rmSync(this.options.file, { force: true })
  }
}

/**
 * The bridge's HTTP transport with a login: a send refused for want of authorization waits for the user to
 * log in at the loopback redirect, completes the code exchange, and is sent again. One login serves every
 * request waiting on it. The access token is refreshed before it expires.
 */
export class OAuthLoginTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: Transport['onmessage']
  private login: Promise<void> | undefined
  private refresh: Promise<unknown> | undefined

  constructor(
    readonly inner: StreamableHTTPClientTransport,
    private readonly provider: BridgeOAuthProvider,
    private readonly serverUrl: URL,
    private readonly loopback: { close(): void },
  ) {
    inner.onmessage = (message) => this.onmessage?.(message)
    inner.onclose = () => this.onclose?.()
    inner.onerror = (error) => {
      // The GET stream's 401 before a login is the same refusal the POSTs handle.
      if (!(error instanceof UnauthorizedError)) this.onerror?.(error)
    }
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion(version)
  }

  start(): Promise<void> {
    return this.inner.start()
  }

  async close(): Promise<void> {
    this.loopback.close()
    await this.inner.close()
  }

  terminateSession(): Promise<void> {
    return this.inner.terminateSession()
  }

  async send(message: JSONRPCMessage, options?: Parameters<Transport['send']>[1]): Promise<void> {
    if (this.provider.refreshDue()) {
      // auth() with a refresh token and no code refreshes; a failed refresh is met by the 401 path below.
      this.refresh ??= auth(this.provider, { serverUrl: this.serverUrl })
        .catch(() => undefined)
        .finally(() => (this.refresh = undefined))
      await this.refresh
    }
    try {
      await this.inner.send(message, options)
    } catch (error) {
      // Discovery, registration or metadata checks refused: the user must fix something, a retry would not.
      if (error instanceof OAuthClientFlowError || error instanceof OAuthError) throw loginFailure(error)
      if (!(error instanceof UnauthorizedError)) throw error
      this.login ??= this.completeLogin().finally(() => (this.login = undefined))
      await this.login
      await this.inner.send(message, options)
    }
  }

  private async completeLogin(): Promise<void> {
    let redirect: URLSearchParams
    try {
      redirect = await this.provider.awaitRedirect()
    } catch (error) {
      this.provider.endLogin()
      throw loginFailure(error)
    }
    try {
      await this.inner.finishAuth(redirect)
      process.stderr.write('airmcp bridge: logged in\n')
    } catch (error) {
      throw loginFailure(error)
    } finally {
      this.provider.endLogin()
    }
  }
}

function loginFailure(error: unknown): BridgeLoginError {
  const reason = error instanceof Error ? error.message : String(error)
  const message = `login failed: ${reason.replace(/\.$/, '')}. Nothing was stored; check the server's authorization settings, then restart the bridge.`
  process.stderr.write(`airmcp bridge: ${message}\n`)
  return new BridgeLoginError(message)
}

/** The provider and loopback redirect for one server; the caller builds the transport with the provider. */
export async function prepareOAuth(options: BridgeOAuthOptions): Promise<{ provider: BridgeOAuthProvider; loopback: LoopbackRedirect }> {
  const loopback = await LoopbackRedirect.start(options.callbackPort)
  return { provider: new BridgeOAuthProvider(options, loopback), loopback }
}
