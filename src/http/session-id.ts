import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Self-contained 2025-11-25 session ids, so a gateway or server can run as several replicas behind a load
 * balancer with no session affinity and no shared store. The id carries what a replica needs to take the
 * session over (the client's `initialize` parameters and an expiry), signed with HMAC-SHA256 under a key
 * every replica shares (`AIRMCP_SESSION_KEY` or the `sessionKey` option). A replica that receives a valid
 * id it does not hold rebuilds the session from it; a tampered, expired or foreign-key id is refused (404).
 * Signed, not encrypted: the client's name and capabilities are readable by whoever holds the id.
 */

/** Default lifetime of a session id: a session older than this must initialize again (24 h). */
export const DEFAULT_SESSION_TTL_MS = 24 * 60 * 60_000

const PREFIX = 's1.'
/** Session ids travel in a header on every request: keep them well under common header limits. */
const MAX_ID_LENGTH = 4096

/** The `initialize` parameters a replica replays to rebuild a session, and when the id stops being valid. */
export interface SessionClaims {
  /** The protocol version the client asked for in `initialize`. */
  protocolVersion: string
  capabilities: Record<string, unknown>
  clientInfo: { name: string; version: string; title?: string }
  /** Expiry in ms since the epoch. */
  exp: number
}

/**
 * A secret derived for one purpose from the shared key; undefined without one, so callers keep their
 * per-process random default. Distinct purposes get distinct keys.
 */
export function sharedSecret(purpose: string, key: string | undefined): string | undefined {
  return key ? createHmac('sha256', key).update(`airmcp/${purpose}`).digest('base64url') : undefined
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value.slice(0, 200) : fallback
}

/** Mints and checks signed session ids; remembers ids ended with DELETE until they expire. */
export class SessionIds {
  private readonly secret: Buffer
  /** Ended ids and their expiry, oldest first; bounded so a flood of DELETEs cannot grow it forever. */
  private readonly ended = new Map<string, number>()

  constructor(
    key: string | undefined,
    private readonly ttlMs = DEFAULT_SESSION_TTL_MS,
    private readonly maxEnded = 100_000,
  ) {
    this.secret = key ? Buffer.from(sharedSecret('session-id', key)!) : randomBytes(32)
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url')
  }

  /** A new session id for a client's `initialize` parameters (random nonce: ids never repeat). */
  mint(params: Record<string, unknown> | undefined, now = Date.now(), authorization?: string): string {
    const info = (params?.clientInfo ?? {}) as Record<string, unknown>
    const capabilities = (params?.capabilities ?? {}) as Record<string, unknown>
    const clientInfo = {
      name: stringOr(info.name, 'unknown'),
      version: stringOr(info.version, '0'),
      ...(typeof info.title === 'string' ? { title: stringOr(info.title, '') } : {}),
    }
    const claims = (caps: Record<string, unknown>) => ({
      v: stringOr(params?.protocolVersion, ''),
      c: caps,
      i: clientInfo,
      x: now + this.ttlMs,
      n: randomBytes(12).toString('base64url'),
      b: this.binding(authorization),
    })
    let payload = Buffer.from(JSON.stringify(claims(capabilities))).toString('base64url')
    if (payload.length > MAX_ID_LENGTH - 100) {
      // Oversized capabilities (large `experimental` blocks): keep which capabilities, not their details.
      const names = Object.fromEntries(Object.keys(capabilities).map((k) => [k, {}]))
      payload = Buffer.from(JSON.stringify(claims(names))).toString('base64url')
    }
    return `${PREFIX}${payload}.${this.mac(payload)}`
  }

  /** Binds an id to the credentials that opened it (keyed digest: the id does not reveal the token). */
  private binding(authorization: string | undefined): string {
    return this.mac(`bind|${authorization ?? ''}`).slice(0, 16)
  }

  /**
   * The claims of a valid, unexpired, not-ended id; undefined for anything else. With `authorization`,
   * also undefined unless the id was opened with the same credentials.
   */
  verify(id: string, now = Date.now(), authorization?: string | null): SessionClaims | undefined {
    if (typeof id !== 'string' || id.length > MAX_ID_LENGTH || !id.startsWith(PREFIX)) return undefined
    const [payload, signature, extra] = id.slice(PREFIX.length).split('.')
    if (!payload || !signature || extra !== undefined) return undefined
    const expected = Buffer.from(this.mac(payload))
    const given = Buffer.from(signature)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    let raw: { v?: unknown; c?: unknown; i?: unknown; x?: unknown; b?: unknown }
    try {
      raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      return undefined
    }
    if (typeof raw.x !== 'number' || raw.x <= now || this.ended.has(id)) return undefined
    if (authorization !== null && raw.b !== this.binding(authorization)) return undefined
    return {
      protocolVersion: String(raw.v ?? ''),
      capabilities: (raw.c ?? {}) as Record<string, unknown>,
      clientInfo: raw.i as SessionClaims['clientInfo'],
      exp: raw.x,
    }
  }

  /**
   * Names this replica in the id of a request it sends a client, so the client's answer, whichever replica
   * the load balancer hands it to, can be passed back here. Signed: only replica-made addresses are used.
   */
  tagRequest(sessionId: string, replicaUrl: string, id: string | number): string {
    const body = `${Buffer.from(replicaUrl).toString('base64url')}.${Buffer.from(JSON.stringify(id)).toString('base64url')}`
    return `r1.${body}.${this.mac(`${sessionId}|${body}`).slice(0, 22)}`
  }

  /** The replica URL and original id of a tagged request id of this session; undefined when not tagged by a replica. */
  readTag(sessionId: string, tagged: unknown): { replicaUrl: string; id: string | number } | undefined {
    if (typeof tagged !== 'string' || !tagged.startsWith('r1.')) return undefined
    const [url, id, mac, extra] = tagged.slice(3).split('.')
    if (!url || !id || !mac || extra !== undefined) return undefined
    const expected = Buffer.from(this.mac(`${sessionId}|${url}.${id}`).slice(0, 22))
    const given = Buffer.from(mac)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    try {
      return { replicaUrl: Buffer.from(url, 'base64url').toString('utf8'), id: JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) }
    } catch {
      return undefined
    }
  }

  /** Whether this process saw the id ended with DELETE (and it has not expired since). */
  isEnded(id: string): boolean {
    return this.ended.has(id)
  }

  /** Marks an id as ended (DELETE): this process never rebuilds it again. */
  end(id: string, authorization?: string, now = Date.now()): void {
    const claims = this.verify(id, now, authorization)
    if (!claims) return
    for (const [old, exp] of this.ended) {
      if (exp > now && this.ended.size < this.maxEnded) break
      this.ended.delete(old)
    }
    this.ended.set(id, claims.exp)
  }
}
