import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** What the gateway keeps across the rounds of a 2026 multi-round-trip request, inside its sealed envelope. */
export interface GatewayState {
  /** The upstream registration that answered the first round: every retry goes back to it. */
  upstream: string
  /** The upstream's own `requestState`, echoed to it byte for byte. */
  state?: string
  /** A 2025 upstream's server-to-client requests answered so far (the call is replayed with them). */
  answers?: Record<string, unknown>
  /** Digest of the method and the parameters that must not change between rounds. */
  request: string
  /** Expiry, in ms since the epoch. */
  exp: number
}

/** Seals and opens the gateway's `requestState` envelope (HMAC-SHA256; signed, not encrypted). */
export interface StateSealer {
  seal(state: Omit<GatewayState, 'exp'>): string
  /** The state, or a thrown Error whose message says why it was refused. */
  open(sealed: string): GatewayState
}

const PREFIX = 'gw1.'

/**
 * A sealer keyed by `key` (any string; at least 32 bytes of entropy recommended). Every gateway process
 * given the same key can open the others' envelopes, so a retried request may reach any replica. Without
 * a key, a random one per process: retries must then come back to the same process.
 */
export function createStateSealer(key: string | undefined, ttlMs = 10 * 60_000): StateSealer {
  const secret = key ? createHash('sha256').update(key).digest() : randomBytes(32)
  const mac = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url')
  return {
    seal(state) {
      const payload = Buffer.from(JSON.stringify({ ...state, exp: Date.now() + ttlMs })).toString('base64url')
      return `${PREFIX}${payload}.${mac(payload)}`
    },
    open(sealed) {
      if (typeof sealed !== 'string' || !sealed.startsWith(PREFIX)) throw new Error('Invalid requestState: not issued by this gateway')
      const [payload, signature] = sealed.slice(PREFIX.length).split('.')
      const expected = Buffer.from(mac(payload ?? ''))
      const given = Buffer.from(signature ?? '')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new Error('Invalid requestState: integrity check failed')
      }
      const state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as GatewayState
      if (typeof state.exp !== 'number' || state.exp < Date.now()) throw new Error('Invalid requestState: expired')
      return state
    },
  }
}

/** A digest of what identifies a request across its rounds: the method and its salient parameters. */
export function requestDigest(method: string, params: Record<string, unknown>): string {
  const salient = { method, name: params.name, uri: params.uri, arguments: params.arguments }
  return createHash('sha256').update(JSON.stringify(salient)).digest('base64url').slice(0, 22)
}
