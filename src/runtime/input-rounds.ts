import { createHash, randomBytes } from 'node:crypto'
import {
  CLIENT_CAPABILITIES_META_KEY,
  createRequestStateCodec,
  inputRequired,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type InputRequest,
  type InputRequiredResult,
  type ServerContext,
} from '@modelcontextprotocol/server'

/**
 * How `ctx.elicit()` / `ctx.sample()` / `ctx.listRoots()` work for a 2026-07-28 client, which has no
 * server-to-client requests: the handler runs; the first question it cannot answer from this round's
 * `inputResponses` (or the answers carried in `requestState`) ends the round with an `input_required`
 * result listing every question asked so far; the client answers and retries, and the handler runs again
 * from the top, this time getting the answers. The answers travel in an HMAC-sealed `requestState`, so
 * any process holding the same key can serve the next round. Handlers should therefore do their side
 * effects after asking, as a retried call runs the code before the question again.
 */

/** What a server asks of the client mid-call, by the wire method that carries it. */
export type InputMethod = 'elicitation/create' | 'sampling/createMessage' | 'roots/list'

/** The sealed state of a multi-round call: whose answers, and the answers so far. */
interface RoundState {
  /** Digest of the method, target name and arguments: a state only continues the call that minted it. */
  call: string
  answers: Record<string, unknown>
}

const CAPABILITY: Record<InputMethod, 'elicitation' | 'sampling' | 'roots'> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
}
const KEY_PREFIX: Record<InputMethod, string> = {
  'elicitation/create': 'elicit',
  'sampling/createMessage': 'sample',
  'roots/list': 'roots',
}

/** Thrown into nothing: marks a round that ended because the handler is waiting for the client. */
class RoundEnded {}

/** An answer is used only when it has the shape of that method's result; anything else is asked again. */
export function isAnswer(method: InputMethod, value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const answer = value as Record<string, unknown>
  if (method === 'elicitation/create') return ['accept', 'decline', 'cancel'].includes(answer.action as string)
  if (method === 'sampling/createMessage') return typeof answer.content === 'object' && answer.content !== null
  return Array.isArray(answer.roots)
}

function callDigest(method: string, target: string, args: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, target, args ?? {}])).digest('base64url').slice(0, 22)
}

/** The client capabilities a 2026 request declared in its `_meta` envelope. */
export function envelopeCapabilities(ctx: ServerContext): Record<string, unknown> | undefined {
  const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>
  const value = envelope[CLIENT_CAPABILITIES_META_KEY] ?? envelope.clientCapabilities
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
}

/** The sealing key: the server's state key (shared by replicas; see defineServer), else random per process. */
export function createRoundCodec(key: string | undefined) {
  const secret = key && key.length >= 32 ? key : key ? createHash('sha256').update(key).digest() : randomBytes(32)
  return createRequestStateCodec<RoundState>({ key: secret, ttlSeconds: 3600 })
}

export type RoundCodec = ReturnType<typeof createRoundCodec>

/** Asks the client something; resolves with its answer (the bare result object). */
export type Ask = (method: InputMethod, params: Record<string, unknown>, key?: string) => Promise<Record<string, unknown>>

/** What one 2026 request brings to its round, whichever transport carried it. */
export interface Rounds {
  /** The sealed state the request carried (verified), or undefined. */
  state(): unknown
  /** The answers the request carried, by input request key. */
  inputResponses?: Record<string, unknown>
  signal(): AbortSignal
  /** The client capabilities its envelope declared. */
  capabilities: Record<string, unknown> | undefined
}

/** A request's round as the SDK read it. */
export function sdkRounds(ctx: ServerContext): Rounds {
  return {
    state: () => ctx.mcpReq.requestState(),
    inputResponses: ctx.mcpReq.inputResponses,
    signal: () => ctx.mcpReq.signal,
    capabilities: envelopeCapabilities(ctx),
  }
}

/**
 * Runs one round of a 2026-era handler. `run` gets an `ask` that answers from this round's responses
 * and the sealed state, or ends the round with `input_required` for everything still unanswered.
 */
export async function runRound<T>(
  codec: RoundCodec,
  rounds: Rounds,
  target: { method: string; name: string; args: unknown },
  run: (ask: Ask, signal: () => AbortSignal) => Promise<T>,
): Promise<T | InputRequiredResult> {
  // Most calls never ask: everything below that costs (digest, signals, minting) happens only when needed.
  const state = rounds.state() as RoundState | undefined
  let call: string | undefined
  const digest = () => (call ??= callDigest(target.method, target.name, target.args))
  if (state !== undefined && (typeof state !== 'object' || state === null || state.call !== digest())) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid or expired requestState: it belongs to another call.')
  }
  const fresh = rounds.inputResponses ?? {}
  const used: Record<string, unknown> = {}
  const pending: Record<string, InputRequest> = {}
  const missing: Record<string, object> = {}
  const counters = new Map<InputMethod, number>()
  let abandon: AbortController | undefined
  let signal: AbortSignal | undefined
  const handlerSignal = () => {
    abandon ??= new AbortController()
    return (signal ??= AbortSignal.any([rounds.signal(), abandon.signal]))
  }
  let endRound!: (ended: RoundEnded) => void
  const roundEnded = new Promise<RoundEnded>((resolve) => (endRound = resolve))
  let ending = false
  const waitForClient = () => {
    if (!ending) {
      ending = true
      // Let the handler ask everything it asks at once (Promise.all) before the round ends.
      setImmediate(() => endRound(new RoundEnded()))
    }
    return new Promise<never>(() => {})
  }

  const ask: Ask = (method, params, key) => {
    const n = (counters.get(method) ?? 0) + 1
    counters.set(method, n)
    const id = key ?? `${KEY_PREFIX[method]}-${n}`
    for (const answer of [fresh[id], state?.answers?.[id]]) {
      if (isAnswer(method, answer)) {
        used[id] = answer
        return Promise.resolve(answer)
      }
    }
    const capability = CAPABILITY[method]
    if (!(capability in (rounds.capabilities ?? {}))) missing[capability] = {}
    else pending[id] = { method, params } as InputRequest
    return waitForClient()
  }

  const outcome = await Promise.race([run(ask, handlerSignal), roundEnded])
  if (!(outcome instanceof RoundEnded)) return outcome
  abandon?.abort(new Error('The call is waiting for the client to answer.'))
  if (Object.keys(missing).length) {
    throw new MissingRequiredClientCapabilityError({ requiredCapabilities: missing } as never)
  }
  return inputRequired({
    inputRequests: pending,
    requestState: await codec.mint({ call: digest(), answers: { ...(state?.answers ?? {}), ...used } }),
  })
}

export { inputRequired }
