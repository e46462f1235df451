import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { Flags } from '@oclif/core'
import { gatewayEnvironment } from '../config/environment.js'
import { AirmcpError } from '../errors.js'
import { alignedColumns } from '../fleet/status.js'
import { defaultTokenStorePath, openTokenStore } from '../gateway/upstreams/auth/index.js'
import { type StoredTokens, storeKey, type TokenStore } from '../gateway/upstreams/auth/token-store.js'

/** Flags of the commands that read the gateway's upstream token store (auth list, auth revoke). */
export const storeFlags = {
  store: Flags.string({
    description: "The gateway's token store: its file, or redis://… (default: upstream-tokens.json in AIRMCP_DATA_DIR, else in .airmcp here). The key is AIRMCP_TOKEN_STORE_KEY.",
  }),
}

/** One principal's authorization at one upstream, as `auth list` shows it: never a token. */
export interface HeldAuthorization {
  principal: string
  issuer: string
  upstream: string
  scopes: string[]
  /** ISO time; null when the authorization server gave no lifetime. */
  expiresAt: string | null
  expired: boolean
  refreshToken: boolean
}

export interface OpenedStore {
  /** Where it is, as shown to the user (a Redis URL without its password). */
  where: string
  kind: 'file' | 'redis'
  store: TokenStore
  /** Store keys with what they show. */
  held: { key: string; shown: HeldAuthorization }[]
}

/**
 * Opens the store the way the gateway does (same default path, same key variable, through
 * UpstreamAuthority), and reads everything in it. A missing file, a missing or wrong key, and an
 * unreachable Redis are errors with a code, never an empty list.
 */
export async function openStore(flag: string | undefined): Promise<OpenedStore> {
  const env = gatewayEnvironment()
  const kind = flag && /^rediss?:\/\//.test(flag) ? 'redis' : 'file'
  const path = kind === 'file' ? resolve(flag ?? defaultTokenStorePath(env.dataDir)) : undefined
  const where = path ?? redactedUrl(flag!)
  if (path && !existsSync(path)) {
    throw new AirmcpError('NO_STORE', `No upstream token store at ${path}.`, "run this in the gateway's directory, set AIRMCP_DATA_DIR as the gateway has it, or give --store <file|redis://…>.")
  }
  let store: TokenStore | undefined
  let entries: [string, StoredTokens][]
  try {
    store = await openTokenStore(path ?? flag!, storeKey(env.tokenStoreKey), true)
    entries = await store.list()
  } catch (error) {
    await store?.close?.()
    throw storeError(error as Error, where)
  }
  const now = Date.now()
  const held = entries.map(([key, tokens]) => ({ key, shown: shownOf(key, tokens, now) }))
  held.sort((a, b) => `${a.shown.principal} ${a.shown.upstream}`.localeCompare(`${b.shown.principal} ${b.shown.upstream}`))
  return { where, kind, store, held }
}

/** A store key (`<issuer> <subject>\0<upstream>`, oauth-client.ts) and its tokens, as shown. */
function shownOf(key: string, tokens: StoredTokens, now: number): HeldAuthorization {
  const [who, upstream = ''] = key.split('\u0000')
  const space = who.indexOf(' ')
  return {
    principal: who.slice(space + 1),
    issuer: who.slice(0, space),
    upstream,
    scopes: tokens.scope?.split(' ').filter(Boolean) ?? [],
    expiresAt: tokens.expiresAt === undefined ? null : new Date(tokens.expiresAt).toISOString(),
    expired: tokens.expiresAt !== undefined && tokens.expiresAt <= now,
    refreshToken: Boolean(tokens.refreshToken),
  }
}

function storeError(error: Error, where: string): AirmcpError {
  if (error instanceof AirmcpError) return error
  const [message, suggestion] = error.message.split(' Try this: ')
  if (/need a key|cannot be read with this key/.test(message)) return new AirmcpError('STORE_KEY', message, suggestion)
  if (/@redis\/client/.test(message)) return new AirmcpError('NO_REDIS_CLIENT', message, suggestion)
  if (error instanceof SyntaxError) return new AirmcpError('STORE_UNREADABLE', `${where} is not an upstream token store (${message}).`, 'give --store the file the gateway writes (upstream-tokens.json).')
  return new AirmcpError('STORE_UNREACHABLE', `The token store at ${where} could not be read: ${message}`, suggestion ?? 'check that it runs and that the URL is the one the gateway has (tokenStore).')
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.href
  } catch {
    return url
  }
}

/** The table `auth list` and `auth revoke` print: one row per principal and upstream. */
export function heldTable(rows: HeldAuthorization[]): string[] {
  return alignedColumns([
    ['PRINCIPAL', 'UPSTREAM', 'SCOPES', 'EXPIRES', 'REFRESH', 'ISSUER'],
    ...rows.map((row) => [
      row.principal,
      row.upstream,
      row.scopes.join(' ') || '-',
      row.expiresAt === null ? 'not said' : `${row.expiresAt}${row.expired ? ' (expired)' : ''}`,
      row.refreshToken ? 'yes' : 'no',
      row.issuer || '-',
    ]),
  ])
}
