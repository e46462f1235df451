// The router: the route stage (an exposed name to its pool, input limits, telemetry) in front of the other stages, and the one face the fronts and upstreams talk to.
import { ProtocolError } from '@modelcontextprotocol/client'
import { INVALID_PARAMS, RESOURCE_NOT_FOUND } from '../../protocol/codes.js'
import { CallTelemetry } from '../../telemetry/calls.js'
import { asRequested, serverToolName } from '../names/index.js'
import { assertDepth, LIMIT_DEFAULTS, noteRoute, type RequestGuard, traceIdOf } from '../security/index.js'
import { announce } from './announcements.js'
import { toolCallInfo, traceMeta } from './call-telemetry.js'
import {
  type Caller,
  type LegacySession,
  type ListKind,
  type Message,
  type ModernNotifier,
  type Params,
  sessionOf,
  type StateSealer,
  upstreamParams,
} from '../calls/index.js'
import { EraBridge } from './era-bridge.js'
import { RESULT_TOO_LARGE, unknownPrompt, unknownTool } from '../errors.js'
import { Forwarding, type ForwardingOptions } from './forwarding.js'
import type { LockGate } from '../lock/index.js'
import { OfferedLists } from './offered-lists.js'
import { type OwnConnections, type Upstream, type UpstreamEvents } from '../upstreams/index.js'
import { ServerMessages } from './server-messages.js'
import { Subscriptions } from './subscriptions.js'
import { TaskRouting } from './task-routing.js'
import { TaskIds, type TaskMethod } from './tasks.js'

export interface RouterOptions extends ForwardingOptions {
  sealer: StateSealer
  /** Seals the task ids handed to clients (default: a random key per process). */
  taskIds?: TaskIds
  maxArgumentDepth?: number
  maxSubscriptionsPerSession?: number
}

/**
 * Routes each client request to the pool that owns the name, through the stages: merged lists
 * (merged-lists.ts, offered-lists.ts), era bridging (era-bridge.ts), forwarding with failover (forwarding.ts), tasks
 * (task-routing.ts); and each upstream's messages back to clients (server-messages.ts, subscriptions.ts,
 * announcements.ts).
 */
export class Router extends OfferedLists implements UpstreamEvents {
  readonly sessions = new Set<LegacySession>()
  readonly notifiers = new Set<ModernNotifier>()
  /** Tool search ranks by meaning as well as words (GatewayOptions.searchByMeaning). */
  searchByMeaning = false
  /** Client sessions' own upstream sessions (HTTP front; see own-connections.ts for the session model). */
  own: OwnConnections | undefined
  /** Metrics, spans and log lines around forwarded tool calls (set up by the Gateway). */
  telemetry = new CallTelemetry('gateway', 'gateway')
  /** Rate limits per principal and the audit log, when the gateway has either (set up by the Gateway). */
  guard: RequestGuard | undefined
  /** Holds back tools and prompts that differ from airmcp.lock, when the gateway has one. */
  gate: LockGate | undefined
  /** Told of every upstream status change (reconnect counting). */
  onStatusChanged: ((upstream: Upstream) => void) | undefined

  private readonly forwarding: Forwarding
  private readonly tasks: TaskRouting
  private readonly bridge: EraBridge
  private readonly messages: ServerMessages
  private readonly subscriptions: Subscriptions

  constructor(private readonly options: RouterOptions) {
    super()
    const own = () => this.own
    const members = (pool: string) => this.lists.members(pool)
    this.forwarding = new Forwarding(options, { members, own, rootsOf: (session) => this.messages.rootsOf(session) })
    this.tasks = new TaskRouting(options.taskIds ?? new TaskIds(undefined), this.forwarding, this.upstreams)
    this.bridge = new EraBridge({ forwarding: this.forwarding, tasks: this.tasks, sealer: options.sealer, members, own })
    this.messages = new ServerMessages(this.forwarding, this.sessions, own)
    this.subscriptions = new Subscriptions(this.lists, this.forwarding, this.notifiers, own, options.maxSubscriptionsPerSession)
  }

  // ---- upstreams and client sessions ----

  add(upstream: Upstream): void {
    this.upstreams.push(upstream)
  }

  remove(upstream: Upstream): void {
    const index = this.upstreams.indexOf(upstream)
    if (index >= 0) this.upstreams.splice(index, 1)
    this.forwarding.forget(upstream)
    this.lists.forgetInstructions()
  }

  removeSession(session: LegacySession): void {
    this.tasks.removeSession(session)
    this.sessions.delete(session)
    this.subscriptions.removeSession(session)
    void this.own?.close(session)
  }

  // ---- the route stage: client requests ----

  /** Input limits, checked before anything is forwarded. */
  private checkInput(params: unknown, what: string): void {
    assertDepth(params, this.options.maxArgumentDepth ?? LIMIT_DEFAULTS.maxArgumentDepth, what)
  }

  callTool(params: Params, caller: Caller): Promise<Params> {
    const name = params.name as string
    const route = this.lists.toolRoute(name)
    if (!route) {
      // A tool held back by airmcp.lock says why; any other unknown name gets the one "unknown tool" answer.
      const held = this.gate?.explain(name)
      throw held ? new ProtocolError(INVALID_PARAMS, held) : unknownTool(name)
    }
    // A tool the server does not offer a client declaring what this one did is unknown to it, as direct.
    const withheld = this.withheld(caller, 'tools', route)
    if (withheld instanceof Promise) return withheld.then(() => this.callTool(params, caller))
    if (withheld) throw unknownTool(name)
    const what = `tools/call "${name}"`
    this.checkInput(params, what)
    noteRoute(caller, route.pool)
    return this.telemetry.run(toolCallInfo(route, params, caller), (scope) =>
      this.bridge
        .run(
          {
            pool: route.pool,
            what,
            method: 'tools/call',
            paramsFor: (upstream) => {
              const upstreamName = serverToolName(upstream.registration.tools, upstream.tools, route.name)
              if (caller.audit) caller.audit.upstreamName = upstreamName
              return { ...params, name: upstreamName }
            },
            exposed: params,
            extraMeta: traceMeta(scope),
            onUpstream: (upstream) => {
              scope.annotate('airmcp.upstream.id', upstream.id)
              if (caller.audit) caller.audit.traceId = traceIdOf(scope.propagate)
            },
          },
          caller,
        )
        .catch((error: unknown) => {
          // An oversized result is the tool's failure, reported like one; the server stays in its pool.
          if ((error as { code?: unknown })?.code === RESULT_TOO_LARGE) {
            return { content: [{ type: 'text' as const, text: (error as Error).message }], isError: true }
          }
          throw error
        }),
    )
  }

  taskRequest(method: TaskMethod, params: Params, caller: Caller) {
    return this.tasks.taskRequest(method, params, caller)
  }

  /** A 2026 client's task listen stream's news (task-routing.ts `feed`). */
  taskFeed(caller: Caller) {
    return this.tasks.feed(caller)
  }

  readResource(params: Params, caller: Caller) {
    const uri = params.uri as string
    const target = this.lists.resourceTarget(uri, sessionOf(caller))
    if (!target) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri })
    this.checkInput(params, 'resources/read')
    noteRoute(caller, target.pool)
    const sent = target.uri === uri ? params : { ...params, uri: target.uri }
    const read = this.bridge.run({ pool: target.pool, what: `resources/read "${uri}"`, method: 'resources/read', paramsFor: () => sent, exposed: params }, caller)
    return sent === params ? read : read.then((result) => asRequested(result, target.uri, uri))
  }

  getPrompt(params: Params, caller: Caller): Promise<Params> {
    const name = params.name as string
    const route = this.lists.promptRoute(name)
    if (!route) throw unknownPrompt(name)
    const withheld = this.withheld(caller, 'prompts', route)
    if (withheld instanceof Promise) return withheld.then(() => this.getPrompt(params, caller))
    if (withheld) throw unknownPrompt(name)
    this.checkInput(params, `prompts/get "${name}"`)
    noteRoute(caller, route.pool, route.name)
    const paramsFor = () => ({ ...params, name: route.name })
    return this.bridge.run({ pool: route.pool, what: `prompts/get "${name}"`, method: 'prompts/get', paramsFor, exposed: params }, caller)
  }

  complete(params: Params, caller: Caller): Params | Promise<Params> {
    const ref = params.ref as { type: string; name?: string; uri?: string }
    const route = ref.type === 'ref/prompt' ? this.lists.promptRoute(ref.name ?? '') : undefined
    const pool = route?.pool ?? (ref.type === 'ref/resource' ? this.lists.resourcePool(ref.uri ?? '', sessionOf(caller)) : undefined)
    if (!pool) return { completion: { values: [] } }
    // A prompt the caller is not offered completes as one that does not exist.
    const withheld = route ? this.withheld(caller, 'prompts', route) : false
    if (withheld instanceof Promise) return withheld.then(() => this.complete(params, caller))
    if (withheld) return { completion: { values: [] } }
    this.checkInput(params, 'completion/complete')
    noteRoute(caller, pool)
    const sent = route ? { ...params, ref: { ...ref, name: route.name } } : params
    return this.forwarding.forward(pool, 'completion/complete', caller, (upstream, options) =>
      upstream.request('completion/complete', upstreamParams(sent, caller, upstream.era), options),
    )
  }

  // ---- subscriptions ----

  subscribeUpstream(uri: string): Promise<boolean> {
    return this.subscriptions.subscribeUpstream(uri)
  }

  subscribe(session: LegacySession, uri: string) {
    return this.subscriptions.subscribe(session, uri)
  }

  unsubscribe(session: LegacySession, uri: string) {
    return this.subscriptions.unsubscribe(session, uri)
  }

  // ---- events from upstreams ----

  listChanged(upstream: Upstream, kind: ListKind): void {
    // A session's own resources are its client's news alone (tools and prompts are listed from the shared catalog).
    const owner = this.own?.ownerOf(upstream) as LegacySession | undefined
    if (owner) {
      if (kind === 'resources') void Promise.resolve(owner.sendResourceListChanged()).catch(() => {})
      return
    }
    if (kind !== 'resources') this.profiles.listsChanged(upstream)
    announce(this.rebuild([kind]), this.sessions, this.notifiers)
  }

  statusChanged(upstream?: Upstream): void {
    // A session's own upstream session coming and going changes nothing others see.
    if (upstream && this.own?.ownerOf(upstream)) return
    this.lists.forgetInstructions()
    if (upstream) this.onStatusChanged?.(upstream)
    // What a profile is not offered is learned again once a member comes back with other names.
    if (upstream) this.profiles.listsChanged(upstream)
    announce(this.rebuild(), this.sessions, this.notifiers)
  }

  log(upstream: Upstream, params: Params): void {
    this.messages.log(upstream, params)
  }

  taskStatus(upstream: Upstream, params: Params): void {
    this.tasks.taskStatus(upstream, params)
  }

  rootsChanged(session: LegacySession): Promise<void> {
    return this.messages.rootsChanged(session)
  }

  resourceUpdated(upstream: Upstream, serverUri: string): void {
    this.subscriptions.resourceUpdated(upstream, serverUri)
  }

  clientRequest(upstream: Upstream, request: Message, signal?: AbortSignal) {
    return this.messages.clientRequest(upstream, request, signal)
  }
}
