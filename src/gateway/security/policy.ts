import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { ProtectedResource } from '../../http/oauth-resource.js'
import { bearerOf } from '../../http/bearer.js'
import { type Principal, rememberFrontToken } from '../../http/principal.js'
import { checkRateLimit, type RateLimit } from './rate-limit.js'

/**
 * Which exposed names a client may see and use. `*` matches any run of characters (none included); every
 * other character is literal and matching is case-sensitive. No `allow` means everything; `allow: []`
 * means nothing. A name matched by `deny` is refused even when `allow` also matches it (deny wins).
 */
export interface NamePolicy {
  allow?: string[]
  deny?: string[]
}

/** How a client sees the tool list: every tool (`full`) or three tools to search, describe and call them (`search`). */
export type DiscoveryMode = 'full' | 'search'

/**
 * Which OAuth principals a client policy applies to (gateway `auth`): every listed claim and scope must
 * match. A claim matches when it equals the value or, for a list claim such as `groups`, contains it; a
 * list of values matches any of them. `{}` matches every principal.
 */
export interface PrincipalMatch {
  claims?: Record<string, string | string[]>
  scopes?: string[]
}

/** A named client of the gateway: its own bearer token, or the OAuth principals it matches, and what it may see and call. */
export interface GatewayClient {
  /** Shown in logs; never sent to other clients. */
  name: string
  /** The bearer token this client sends (`Authorization: Bearer <token>`); optional when `match` is set. */
  token?: string
  /** The OAuth principals (verified access tokens, gateway `auth`) this policy applies to; the first matching client wins. */
  match?: PrincipalMatch
  /** Tools, by exposed name. */
  tools?: NamePolicy
  /** Prompts, by exposed name. */
  prompts?: NamePolicy
  /** Resources by URI, and resource templates by their template text. */
  resources?: NamePolicy
  /** Overrides the gateway's `discovery` for this client. */
  discovery?: DiscoveryMode
  /** Overrides the gateway's `rateLimit` for this client's requests (`false`: none). */
  rateLimit?: RateLimit | false
}

/** What one client session may see and call, resolved once per client. */
export interface ClientAccess {
  /** The client's name, or undefined for the gateway-wide `authToken` and for unauthenticated fronts. */
  name: string | undefined
  tool(name: string): boolean
  prompt(name: string): boolean
  resource(uriOrTemplate: string): boolean
  discovery: DiscoveryMode
  /** Who is calling (a verified token's principal, or the static-token client); undefined without credentials. */
  principal?: Principal
}

const everything = () => true

/** A session with no named client: everything visible (the single-token and no-token cases). */
export function fullAccess(discovery: DiscoveryMode = 'full'): ClientAccess {
  return { name: undefined, tool: everything, prompt: everything, resource: everything, discovery }
}

/** Compiles one `*` glob to a matcher of whole names. */
export function compileGlob(pattern: string): (name: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*')
  const regex = new RegExp(`^${source}$`, 's')
  return (name) => regex.test(name)
}

/** Compiles a policy to one predicate: allowed by `allow` (or no `allow`) and matched by no `deny`. */
export function compilePolicy(policy: NamePolicy | undefined): (name: string) => boolean {
  if (!policy) return everything
  const allow = policy.allow?.map(compileGlob)
  const deny = (policy.deny ?? []).map(compileGlob)
  return (name) => (allow === undefined || allow.some((m) => m(name))) && !deny.some((m) => m(name))
}

function checkPolicy(where: string, policy: unknown): void {
  if (policy === undefined) return
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw new TypeError(`${where} must be { allow?: string[], deny?: string[] }. Try this: ${where}: { allow: ['search*'] }.`)
  }
  for (const key of Object.keys(policy)) {
    const list = (policy as Record<string, unknown>)[key]
    if (key !== 'allow' && key !== 'deny') {
      throw new TypeError(`${where} has an unknown key "${key}". Try this: use allow and deny only.`)
    }
    if (list !== undefined && (!Array.isArray(list) || list.some((p) => typeof p !== 'string'))) {
      throw new TypeError(`${where}.${key} must be a list of names or * globs. Try this: ${where}.${key}: ['search*'].`)
    }
  }
}

function checkDiscovery(where: string, mode: unknown): void {
  if (mode !== undefined && mode !== 'full' && mode !== 'search') {
    throw new TypeError(`${where} must be 'full' or 'search', not ${JSON.stringify(mode)}. Try this: discovery: 'search'.`)
  }
}

/**
 * Refuses a client list that would open the gateway by mistake: a client without a token (an unset
 * environment variable), two clients with one token or one name, a malformed policy.
 */
export function validateClients(clients: unknown, authToken: unknown, discovery: unknown): void {
  checkDiscovery('discovery', discovery)
  if (authToken !== undefined && (typeof authToken !== 'string' || authToken === '')) {
    throw new TypeError('authToken must be a non-empty string. Try this: authToken: process.env.GATEWAY_TOKEN, and set that variable.')
  }
  if (clients === undefined) return
  if (!Array.isArray(clients)) throw new TypeError('clients must be a list. Try this: clients: [{ name, token, tools }].')
  const names = new Set<string>()
  const tokens = new Set<string>([authToken as string | undefined].filter((t): t is string => !!t))
  clients.forEach((client: Partial<GatewayClient>, index) => {
    const where = `clients[${index}]`
    if (!client || typeof client.name !== 'string' || client.name === '') {
      throw new TypeError(`${where} needs a name. Try this: { name: 'ci-bot', token: process.env.CI_BOT_TOKEN }.`)
    }
    if (names.has(client.name)) throw new TypeError(`Two clients are named "${client.name}". Try this: give each client its own name.`)
    names.add(client.name)
    if (client.match !== undefined) checkMatch(`${where}.match`, client.match)
    if (client.match !== undefined && client.token === undefined) return checkClientPolicies(where, client)
    if (typeof client.token !== 'string' || client.token === '') {
      throw new TypeError(
        `Client "${client.name}" has no token (is its environment variable set?). Try this: token: process.env.<NAME>_TOKEN, and set that variable.`,
      )
    }
    if (tokens.has(client.token)) {
      throw new TypeError(`Client "${client.name}" shares its token with another client. Try this: give each client its own token.`)
    }
    tokens.add(client.token)
    checkClientPolicies(where, client)
  })
}

function checkClientPolicies(where: string, client: Partial<GatewayClient>): void {
  checkPolicy(`${where}.tools`, client.tools)
  checkPolicy(`${where}.prompts`, client.prompts)
  checkPolicy(`${where}.resources`, client.resources)
  checkDiscovery(`${where}.discovery`, client.discovery)
  checkRateLimit(`${where}.rateLimit`, client.rateLimit, true)
}

function checkMatch(where: string, match: unknown): void {
  const example = `Try this: ${where}: { claims: { groups: 'support' } } or { scopes: ['mcp:support'] }.`
  if (typeof match !== 'object' || match === null || Array.isArray(match)) throw new TypeError(`${where} must be { claims?, scopes? }. ${example}`)
  const { claims, scopes, ...rest } = match as PrincipalMatch
  const unknown = Object.keys(rest)
  if (unknown.length) throw new TypeError(`${where} has an unknown key "${unknown[0]}". ${example}`)
  const isText = (value: unknown) => typeof value === 'string'
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every(isText))) throw new TypeError(`${where}.scopes must be a list of scope names. ${example}`)
  if (claims === undefined) return
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new TypeError(`${where}.claims must map claim names to values. ${example}`)
  for (const [claim, value] of Object.entries(claims)) {
    if (!isText(value) && !(Array.isArray(value) && value.every(isText))) throw new TypeError(`${where}.claims.${claim} must be a string or a list of strings. ${example}`)
  }
}

/** True when a principal has every scope and claim value the match names. */
export function principalMatches(match: PrincipalMatch, principal: Principal): boolean {
  if (!(match.scopes ?? []).every((scope) => principal.scopes.includes(scope))) return false
  return Object.entries(match.claims ?? {}).every(([claim, wanted]) => {
    const held = principal.claims[claim]
    const heldValues = Array.isArray(held) ? held : [held]
    return (Array.isArray(wanted) ? wanted : [wanted]).some((value) => heldValues.includes(value))
  })
}

/** The principal of the gateway-wide `authToken`. */
export const ADMIN: Principal = { name: 'admin', scopes: [], claims: {} }

/** Resolves a client's policies once. */
export function accessFor(client: GatewayClient, discovery: DiscoveryMode = 'full'): ClientAccess {
  return {
    name: client.name,
    tool: compilePolicy(client.tools),
    prompt: compilePolicy(client.prompts),
    resource: compilePolicy(client.resources),
    discovery: client.discovery ?? discovery,
    principal: { name: client.name, scopes: [], claims: {} },
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '')
  return match?.[1]
}

/**
 * Maps a bearer token to the access of the client it belongs to, or undefined when it is nobody's. Both
 * sides are hashed first so every comparison takes the same time whatever the lengths, and every known
 * token is compared (no early exit), so the time says nothing about which tokens exist.
 */
export function createAuthenticator(options: {
  clients?: GatewayClient[]
  authToken?: string
  discovery?: DiscoveryMode
}): ((authorization: string | undefined) => ClientAccess | undefined) | undefined {
  const known: { digest: Buffer; access: ClientAccess }[] = []
  if (options.authToken) known.push({ digest: digest(options.authToken), access: { ...fullAccess(options.discovery), principal: ADMIN } })
  for (const client of options.clients ?? []) {
    if (client.token) known.push({ digest: digest(client.token), access: accessFor(client, options.discovery) })
  }
  if (!known.length) return undefined
  return (authorization) => {
    const presented = digest(bearerToken(authorization) ?? '')
    let found: ClientAccess | undefined
    for (const entry of known) {
      if (timingSafeEqual(entry.digest, presented) && !found) found = entry.access
    }
    return found
  }
}

/** Most principals whose resolved access is kept (least recently seen dropped first). */
const MAX_PRINCIPALS = 10_000

/**
 * Maps a request to its client's access: a static token first (local and CI use), else a verified OAuth
 * access token whose principal the first matching client policy governs. With policies that `match`,
 * a principal none of them matches is refused (403). One principal keeps one access object (its
 * sessions stay bound to it across requests and token refreshes), its claims those of its latest token.
 */
export function createPrincipalAuthenticator(
  options: { clients?: GatewayClient[]; authToken?: string; discovery?: DiscoveryMode },
  resource: ProtectedResource,
): (authorization: string | undefined, req: IncomingMessage) => Promise<ClientAccess | undefined> {
  const staticTokens = createAuthenticator({ ...options, clients: options.clients?.filter((c) => c.token) })
  const policies = (options.clients ?? []).filter((client) => client.match)
  const known = new Map<string, ClientAccess>()
  return async (authorization, req) => {
    const byToken = staticTokens?.(authorization)
    if (byToken) return byToken
    const principal = await resource.verify(req)
    const client = policies.find((policy) => principalMatches(policy.match as PrincipalMatch, principal))
    if (policies.length && !client) throw resource.forbidden(req, [], 'No client policy of this gateway applies to this principal.')
    if (client) principal.name = client.name
    const key = [client?.name, principal.sub, principal.clientId, principal.scopes.join(' ')].join('\u0000')
    let access = known.get(key)
    if (access) known.delete(key)
    else access = { ...(client ? accessFor(client, options.discovery) : fullAccess(options.discovery)), principal }
    ;(access.principal as Principal).claims = principal.claims
    known.set(key, access)
    rememberFrontToken(access.principal as Principal, bearerOf(authorization))
    if (known.size > MAX_PRINCIPALS) known.delete(known.keys().next().value as string)
    return access
  }
}
