/**
 * Who is calling, once the HTTP front has checked their credentials: from a verified OAuth access token
 * (issuer `auth`), or from a static client token (`clients: [{ name, token }]`). Audit lines, rate limits
 * and a tool's `ctx.auth` read it; it never holds the token itself.
 */
export interface Principal {
  /** The matched client policy's name, else the token's `sub` (static-token clients: their name). */
  name: string
  /** The token's subject (`sub`); undefined for static-token clients. */
  sub?: string
  /** The OAuth client the token was issued to (`client_id`, else `azp`). */
  clientId?: string
  /** Granted scopes (`scope` split on spaces, or `scp`). */
  scopes: string[]
  /** The verified token's claims (never the token); empty for static-token clients. */
  claims: Record<string, unknown>
}

/** The OAuth access token each principal last came with: for a token exchange (RFC 8693), never sent upstream as is. */
const frontTokens = new WeakMap<Principal, string>()

export function rememberFrontToken(principal: Principal, token: string | undefined): void {
  if (token) frontTokens.set(principal, token)
}

export function frontTokenOf(principal: Principal): string | undefined {
  return frontTokens.get(principal)
}
