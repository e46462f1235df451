// Upstream authorization: the gateway as the OAuth client of protected upstreams (per user, on behalf of the caller, as itself), the token store and consent board they share, and the routes browsers and authorization servers reach (the callback, the client metadata document).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { Transport } from '@modelcontextprotocol/client'
import type { Principal } from '../../../http/principal.js'
import type { Connection } from '../../types.js'
import type { UpstreamAuth } from '../../types.js'
import { assertSecureUrl, clientMetadataOf, UpstreamAuthError } from './authorization-server.js'
import { ConsentBoard, MemoryConsentSpace } from './consents.js'
import { AUTH_MODES, UpstreamOAuth } from './oauth-client.js'
import { FileTokenStore, storeKey, type TokenStore } from './token-store.js'
import { AuthorizingTransport } from './transport.js'

export { principalKey } from './oauth-client.js'

export const CALLBACK_PATH = '/oauth/callback'
export const CLIENT_METADATA_PATH = '/oauth/client-metadata.json'

export interface UpstreamAuthorityOptions {
  /** A file path (default `<dataDir>/upstream-tokens.json`), or `redis://…` for replicas. */
  tokenStore?: string
  /** The store's encryption secret (default `AIRMCP_TOKEN_STORE_KEY`). */
  tokenStoreKey?: string
  /** Default `AIRMCP_DATA_DIR`, else `.airmcp` in the working directory. */
  dataDir?: string
  /** The gateway's public origin, as browsers reach it (its callback); default its listening URL. */
  publicUrl: () => string | undefined
}

export type HttpConnection = Extract<Connection, { type: 'http' | 'streamable-http' }> & { auth?: UpstreamAuth }

/** Where the gateway keeps upstream tokens without a `tokenStore`: in its data directory. */
export function defaultTokenStorePath(dataDir: string | undefined): string {
  return join(dataDir ?? '.airmcp', 'upstream-tokens.json')
}

/**
 * The store at `where`: a file, or `redis://…`. `once` (a command's): an unreachable Redis fails the open
 * at once instead of being retried (a gateway keeps retrying).
 */
export async function openTokenStore(where: string, key: Buffer, once = false): Promise<TokenStore> {
  if (/^rediss?:\/\//.test(where)) {
    const { RedisTokenStore } = await import('./redis-store.js')
    return RedisTokenStore.open(where, key, once)
  }
  return FileTokenStore.open(where, key)
}

/** Refuses an `auth` the gateway cannot use, at register(). */
export function validateUpstreamAuth(id: string, connection: Connection): void {
  const auth = (connection as { auth?: UpstreamAuth }).auth
  if (auth === undefined) return
  if (connection.type !== 'http' && connection.type !== 'streamable-http') {
    throw new TypeError(`Registration "${id}": auth needs an HTTP connection (type 'http'). Try this: put the server behind Streamable HTTP, or use headers.`)
  }
  if (!AUTH_MODES.includes(auth.mode)) throw new TypeError(`Registration "${id}": unknown auth mode ${JSON.stringify(auth.mode)}. Try this: ${AUTH_MODES.join(', ')}.`)
  if (Object.keys(connection.headers ?? {}).some((name) => name.toLowerCase() === 'authorization')) {
    throw new TypeError(`Registration "${id}": both auth and an Authorization header. Try this: one of them.`)
  }
  try {
    assertSecureUrl(connection.url, 'upstream')
  } catch (error) {
    throw new TypeError(`Registration "${id}": ${(error as Error).message} Try this: an https:// URL; tokens never go over plain http off loopback.`)
  }
  if (auth.clientMetadataUrl !== undefined && !/^https:\/\/[^/]+\/./.test(auth.clientMetadataUrl)) {
    throw new TypeError(`Registration "${id}": clientMetadataUrl must be an https URL with a path (a Client ID Metadata Document). Try this: https://your.domain/oauth/client-metadata.json, or leave it out.`)
  }
  if (auth.mode === 'as-itself' && !auth.clientSecret && !auth.privateKey) {
    throw new TypeError(`Registration "${id}": auth mode 'as-itself' needs the gateway's client credentials. Try this: clientId with clientSecret (from the environment) or privateKey.`)
  }
}

/** Whether requests to this upstream carry each caller's own token (its 2025 session beside is not used). */
export function authorizesPerCaller(connection: Connection): boolean {
  const mode = (connection as { auth?: UpstreamAuth }).auth?.mode
  return mode === 'per-user' || mode === 'on-behalf-of'
}

/**
 * The gateway's side of upstream authorization: one OAuth client per protected registration, the token
 * store they share, and the routes browsers and authorization servers reach (the callback, the gateway's
 * Client ID Metadata Document).
 */
export class UpstreamAuthority {
  private store: Promise<TokenStore> | undefined
  private board: Promise<ConsentBoard> | undefined
  private readonly clients = new Map<string, UpstreamOAuth>()

  constructor(private readonly options: UpstreamAuthorityOptions) {}

  /** Opened on first use: a gateway with no per-user upstream needs no key. */
  tokenStore(): Promise<TokenStore> {
    this.store ??= (async () => openTokenStore(this.options.tokenStore ?? defaultTokenStorePath(this.options.dataDir), storeKey(this.options.tokenStoreKey)))()
    return this.store
  }

  /** Pending authorizations: where the store's replicas all see them (Redis), else in this process. */
  consents(): Promise<ConsentBoard> {
    this.board ??= this.tokenStore().then((store) => new ConsentBoard(store.consentSpace?.() ?? new MemoryConsentSpace(), storeKey(this.options.tokenStoreKey)))
    return this.board
  }

  /** Closes the token store, if one was opened (the gateway's stop). */
  async close(): Promise<void> {
    const store = await this.store?.catch(() => undefined)
    await store?.close?.()
  }

  private redirectUri(): string {
    return new URL(CALLBACK_PATH, this.origin()).href
  }

  private origin(): string {
    const url = this.options.publicUrl()
    if (!url) throw new UpstreamAuthError('The gateway has no public URL yet (not listening).')
    return url
  }

  /** The OAuth client of one upstream (shared by its own connections), keyed by resource and configuration. */
  oauthFor(connection: HttpConnection): UpstreamOAuth {
    const key = `${connection.url}\u0000${JSON.stringify(connection.auth)}`
    let client = this.clients.get(key)
    if (!client) {
      client = new UpstreamOAuth(
        connection.url,
        connection.auth!,
        () => this.tokenStore(),
        {
          redirectUri: () => this.redirectUri(),
          // Authorization servers fetch a metadata document over https only.
          clientMetadataUrl: () => (this.origin().startsWith('https:') ? new URL(CLIENT_METADATA_PATH, this.origin()).href : undefined),
        },
        () => this.consents(),
      )
      this.clients.set(key, client)
    }
    return client
  }

  /**
   * The transport itself for an upstream without `auth`; else it wrapped to carry the right token.
   * `principal`: the transport of a 2025 client session's own upstream session, opened with its caller's token.
   */
  wrap(connection: Connection, transport: Transport, principal?: Principal): Transport {
    const auth = (connection as HttpConnection).auth
    return auth ? new AuthorizingTransport(transport, this.oauthFor(connection as HttpConnection), principal) : transport
  }

  /** Serves the callback and the metadata document; false for any other path. */
  route(req: IncomingMessage, res: ServerResponse, pathname: string, url: () => URL): boolean {
    if (req.method !== 'GET') return false
    if (pathname === CLIENT_METADATA_PATH) {
      const id = new URL(CLIENT_METADATA_PATH, this.origin()).href
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' })
      res.end(JSON.stringify(clientMetadataOf(this.redirectUri(), id)))
      return true
    }
    if (pathname !== CALLBACK_PATH) return false
    const { searchParams } = url()
    const page = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
      res.end(text)
    }
    const unknown = () => page(400, 'This authorization response is unknown or was already used. Nothing was stored. Go back to your MCP client and try the call again.')
    // A gateway with no per-user upstream issued none (and may have no store to look in).
    if (![...this.clients.values()].some((client) => client.config.mode === 'per-user')) {
      unknown()
      return true
    }
    // Taken once from the board the replicas share: the replica that asked for it need not be this one.
    this.consents()
      .then(async (board) => {
        const pending = await board.take(searchParams.get('state') ?? '')
        const client = pending && [...this.clients.values()].find((candidate) => candidate.resource === pending.resource)
        if (!client) return unknown()
        await client.complete(searchParams, pending)
        page(200, 'Authorized. You can close this window; the call goes on in your MCP client.')
      })
      .catch((error: unknown) =>
        page(400, `Authorization refused: ${error instanceof UpstreamAuthError ? error.message : 'the authorization server could not be reached.'} Nothing was stored.`),
      )
    return true
  }
}
