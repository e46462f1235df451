import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * True when an Authorization header carries `Bearer <token>` (the scheme in any case, RFC 7235). The
 * comparison is constant-time: both sides are hashed to equal-length digests first.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const presented = bearerOf(authorization)
  return timingSafeEqual(digest(presented ?? ''), digest(token)) && presented !== undefined
}

/** The token of an `Authorization: Bearer <token>` header (scheme in any case), or undefined. */
export function bearerOf(authorization: string | undefined): string | undefined {
  return /^\s*bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
}
