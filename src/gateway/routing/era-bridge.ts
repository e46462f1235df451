// The era-bridging stage: requests that may need the client's input (tools/call, prompts/get, resources/read) across eras: input rounds for 2026 clients, server-to-client requests for 2025 ones, and replay of a 2025 upstream's call.
import { INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST } from '../../protocol/codes.js'
import { MissingRequiredClientCapabilityError, ProtocolError } from '@modelcontextprotocol/client'
import {
  bindCaller,
  type Caller,
  declares,
  type ForwardOptions,
  type LegacySession,
  type Message,
  type Params,
  type Replay,
  requestDigest,
  standInSession,
  type StateSealer,
  upstreamParams,
} from '../calls/index.js'
import type { Forwarding } from './forwarding.js'
import { isConsentState, type OwnConnections, principalKey, type Upstream } from '../upstreams/index.js'
import type { TaskRouting } from './task-routing.js'
import { legacyTask } from '../../runtime/tasks.js'
import { assertTasksNegotiated, modernTask, requiresTask, withTasksExtension } from './tasks.js'

const MAX_ROUNDS = 10
/** The key of a 2026 client's answer to the gateway's own `roots/list` input request. */
const ROOTS_ANSWER = 'roots'
const MAX_ROOTS_SESSIONS = 256

/** What bridging reads of the rest of the router. */
export interface BridgeDeps {
  forwarding: Forwarding
  tasks: TaskRouting
  sealer: StateSealer
  members(pool: string): Upstream[]
  own(): OwnConnections | undefined
}

/** One interactive request as the route stage hands it over. */
export interface Interactive {
  pool: string
  /** How errors name the request (`tools/call "x"`). */
  what: string
  method: string
  /** The params sent to a member (its name for the tool, say). */
  paramsFor: (upstream: Upstream) => Params
  /** The params as the client sent them (what a 2026 requestState is bound to). */
  exposed: Params
  extraMeta?: Params
  /** Told which member serves the request (telemetry). */
  onUpstream?: (upstream: Upstream) => void
}

export class EraBridge {
  /** Stand-in sessions of 2026 clients' roots, by roots (see `rootsSession`). */
  private readonly rootsSessions = new Map<string, LegacySession>()

  constructor(private readonly deps: BridgeDeps) {}

  /**
   * A 2025 client answers the server's requests on its session; a 2026 client gets `input_required`
   * results whose `requestState` is the gateway's sealed envelope naming the upstream.
   */
  run(request: Interactive, caller: Caller): Promise<Params> {
    const { pool, what, method, paramsFor, extraMeta } = request
    const { forwarding, tasks, sealer } = this.deps
    if (caller.era !== 'modern') {
      return forwarding.forward(pool, what, caller, (upstream, options) => {
        this.served(caller, upstream, request.onUpstream)
        const params = paramsFor(upstream)
        // A 2025 caller goes on a 2025 session where the upstream offers one; only a 2026-only one is bridged.
        const onSession = upstream.era === 'modern'
        const answer =
          !onSession || upstream.sessionClient
            ? upstream.request(method, upstreamParams(params, caller, 'legacy', extraMeta), options, onSession)
            : this.roundsForLegacy(upstream, method, params, caller, options, extraMeta)
        return answer.then((result) => tasks.exposeLegacy(result, upstream, caller))
      })
    }
    // Hashed only when a round needs it (a requestState to check or to seal, a 2025 upstream's replay), not per call.
    let hashed: string | undefined
    const digest = () => (hashed ??= requestDigest(method, request.exposed))
    const state = caller.state
    if (state && state.request !== digest()) {
      throw new ProtocolError(INVALID_PARAMS, 'Invalid requestState: it was issued for another request.')
    }
    if (this.needsRoots(pool, caller)) {
      const roots = caller.inputResponses?.[ROOTS_ANSWER] ?? state?.answers?.[ROOTS_ANSWER]
      if (roots === undefined) {
        return Promise.resolve({
          resultType: 'input_required',
          inputRequests: { [ROOTS_ANSWER]: { method: 'roots/list', params: {} } },
          requestState: sealer.seal({ upstream: '', request: digest(), answers: {} }),
        })
      }
      // One per user too where a server binds its sessions to the user whose token opened them.
      const perUser = caller.principal && this.deps.members(pool).some((u) => u.sessionsPerPrincipal)
      bindCaller(caller, this.rootsSession(roots as Params, caller.clientCapabilities!, perUser ? principalKey(caller.principal!) : undefined))
    }
    return forwarding.forward(
      pool,
      what,
      caller,
      async (upstream, options) => {
        this.served(caller, upstream, request.onUpstream)
        const params = paramsFor(upstream)
        if (upstream.era !== 'modern') {
          if (method === 'tools/call' && requiresTask(upstream.tools, params.name)) return this.taskOnLegacy(upstream, params, caller, options, extraMeta)
          return this.replayOnLegacy(upstream, method, params, caller, options, digest(), extraMeta)
        }
        const sent = {
          ...upstreamParams(params, caller, upstream.era, extraMeta),
          ...(caller.inputResponses ? { inputResponses: caller.inputResponses } : {}),
          ...(state?.state !== undefined ? { requestState: state.state } : {}),
        }
        const result = await upstream.request(method, sent, options)
        if (result.resultType === 'task') return tasks.expose(result, upstream, caller)
        if (result.resultType !== 'input_required') return result
        return {
          resultType: 'input_required',
          ...(result.inputRequests ? { inputRequests: result.inputRequests } : {}),
          requestState: sealer.seal({
            upstream: upstream.id,
            request: digest(),
            ...(typeof result.requestState === 'string' ? { state: result.requestState } : {}),
          }),
        }
      },
      state?.upstream,
    )
  }

  /** Tells the request's hooks which member serves it: the telemetry span (`onUpstream`), the audit line. */
  private served(caller: Caller, upstream: Upstream, onUpstream?: (upstream: Upstream) => void): void {
    if (caller.audit) caller.audit.upstream = upstream.id
    onUpstream?.(upstream)
  }

  /**
   * A 2025 server asks for roots when a session starts (and on list_changed), not in a call: a 2026 client
   * declaring roots is asked for them first (an input round), and its calls run on an upstream session of
   * their own whose `roots/list` answers with them (one per distinct set of roots), wherever a 2025 session
   * with those capabilities would get its own (own-connections.ts).
   */
  private needsRoots(pool: string, caller: Caller): boolean {
    const own = this.deps.own()
    if (!own || !declares(caller.clientCapabilities, { roots: {} })) return false
    const like = { getClientCapabilities: () => caller.clientCapabilities }
    return this.deps.members(pool).some((u) => u.era === 'legacy' && own.wanted(u, like))
  }

  /** The stand-in session of a 2026 client's roots: what its own connections answer `roots/list` with. */
  private rootsSession(roots: Params, capabilities: Params, principal?: string): LegacySession {
    const key = JSON.stringify([roots, capabilities, principal])
    let session = this.rootsSessions.get(key)
    if (!session) {
      session = standInSession(capabilities, roots)
      this.rootsSessions.set(key, session)
      // Bounded: a forgotten stand-in's connection still closes when idle; the same roots later open another.
      if (this.rootsSessions.size > MAX_ROOTS_SESSIONS) this.rootsSessions.delete(this.rootsSessions.keys().next().value!)
    }
    return session
  }

  /**
   * A 2025 client and a 2026 upstream: each `input_required` round's requests go to this very caller's
   * session as server-to-client requests, and the call is retried with the answers and the upstream's state.
   */
  private async roundsForLegacy(upstream: Upstream, method: string, params: Params, caller: Caller, options: ForwardOptions, extraMeta?: Params) {
    // A 2025 task-augmented call (`params.task`) declares the tasks extension: a 2026 task comes back as a 2025 one.
    const asTask = method === 'tools/call' && params.task !== undefined
    const declared = asTask ? { ...caller, clientCapabilities: withTasksExtension(caller.clientCapabilities) } : caller
    const base = upstreamParams(params, declared, upstream.era, extraMeta)
    let round: Params = {}
    for (let rounds = 0; rounds < MAX_ROUNDS; rounds++) {
      const result = await upstream.request(method, { ...base, ...round }, options)
      if (result.resultType === 'task') return { task: legacyTask(result) }
      if (result.resultType !== 'input_required') return result
      if (!caller.request) throw new ProtocolError(INVALID_REQUEST, `${method} needs input this client cannot be asked for.`)
      const inputResponses: Params = {}
      for (const [key, request] of Object.entries((result.inputRequests ?? {}) as Record<string, Message>)) {
        inputResponses[key] = await caller.request(request)
      }
      round = { inputResponses, ...(result.requestState !== undefined ? { requestState: result.requestState } : {}) }
    }
    throw new ProtocolError(INTERNAL_ERROR, `${method} still needed input after ${MAX_ROUNDS} rounds.`)
  }

  /**
   * A 2026 client and a 2025 tool that runs only as a task: the call goes as a 2025 task, and the client,
   * which negotiated the tasks extension (-32021 otherwise, as for a 2026 tool), gets a 2026 task under the
   * gateway's sealed id; its tasks/* are answered from the 2025 methods (task-routing.ts).
   */
  private async taskOnLegacy(upstream: Upstream, params: Params, caller: Caller, options: ForwardOptions, extraMeta?: Params): Promise<Params> {
    assertTasksNegotiated(caller.clientCapabilities)
    const result = await upstream.request('tools/call', { ...upstreamParams(params, caller, upstream.era, extraMeta), task: {} }, options)
    const task = result.task as Params | undefined
    return task ? this.deps.tasks.expose({ resultType: 'task', ...modernTask(task) }, upstream, caller) : result
  }

  /**
   * A 2026 client and a 2025 upstream: the upstream asks for input with server-to-client requests in the
   * middle of its call, which a 2026 client cannot receive. The gateway keeps nothing between requests:
   * each round replays the call, answering the upstream's requests in order from the answers collected so
   * far (carried in the sealed state); the first unanswered one cancels the call and becomes an
   * `input_required` result (server-messages.ts `answerReplay`). The upstream's handler runs once per round.
   */
  private async replayOnLegacy(
    upstream: Upstream,
    method: string,
    params: Params,
    caller: Caller,
    options: ForwardOptions,
    digest: string,
    extraMeta?: Params,
  ): Promise<Params> {
    const answers: Params = { ...caller.state?.answers }
    for (const [key, value] of Object.entries(caller.inputResponses ?? {})) if (/^r\d+$/.test(key) || key === ROOTS_ANSWER) answers[key] = value
    const replay: Replay = { answers, next: 0, abort: new AbortController() }
    caller.replay = replay
    const signal = AbortSignal.any([caller.signal, replay.abort.signal])
    // The retry of the gateway's consent round (a per-user server, upstreams/auth/transport.ts): its answer goes to the wrapper that asked.
    const consent = isConsentState(caller.state?.state) ? { requestState: caller.state!.state, inputResponses: caller.inputResponses } : {}
    try {
      const result = await upstream.request(method, { ...upstreamParams(params, caller, upstream.era, extraMeta), ...consent }, { ...options, signal })
      if (result.resultType !== 'input_required' || !isConsentState(result.requestState)) return result
      return { ...result, requestState: this.deps.sealer.seal({ upstream: upstream.id, request: digest, answers, state: result.requestState as string }) }
    } catch (error) {
      if (replay.missing) throw new MissingRequiredClientCapabilityError({ requiredCapabilities: replay.missing } as never)
      if (!replay.needed) throw error
      return {
        resultType: 'input_required',
        inputRequests: replay.needed,
        requestState: this.deps.sealer.seal({ upstream: upstream.id, request: digest, answers }),
      }
    } finally {
      caller.replay = undefined
    }
  }
}
