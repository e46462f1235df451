import { createHash } from 'node:crypto'
import { INVALID_PARAMS } from '../../protocol/codes.js'
import { negotiatedTasks, TASKS_EXTENSION, tasksCapabilityRequired } from '../../runtime/tasks.js'
import { GatewayError } from '../errors.js'
import { createStateSealer, type StateSealer } from '../calls/index.js'

type Params = Record<string, unknown>

/** The `tasks/*` methods a client sends about a task it was given: SEP-2663 (2026), and 2025-11-25's. */
export const TASK_METHODS = ['tasks/get', 'tasks/update', 'tasks/cancel'] as const
export const LEGACY_TASK_METHODS = ['tasks/get', 'tasks/result', 'tasks/cancel'] as const
export type TaskMethod = (typeof TASK_METHODS)[number] | (typeof LEGACY_TASK_METHODS)[number]

const RELATED_TASK = 'io.modelcontextprotocol/related-task'

/** Where a task the gateway handed out lives: the upstream member that runs it, under its own id. */
export interface TaskRoute {
  upstream: string
  taskId: string
}

/** How long a task id handed out stays usable (the upstream's `ttlMs` decides how long the task itself lives). */
const TASK_ID_TTL_MS = 7 * 24 * 3_600_000

/** Task ids opened lately and principals' digests, at most this many of each: a client polls one task many times. */
const MAX_REMEMBERED = 1024

/** Keeps at most MAX_REMEMBERED entries, the oldest let go first. */
function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= MAX_REMEMBERED) map.delete(map.keys().next().value!)
  map.set(key, value)
  return value
}

const ownerDigests = new Map<string, string>()

function ownerDigest(principal: string | undefined): string {
  const name = principal ?? ''
  return ownerDigests.get(name) ?? remember(ownerDigests, name, createHash('sha256').update(`task-owner:${name}`).digest('base64url').slice(0, 22))
}

/**
 * The task ids the gateway hands clients: the upstream member and its task id, bound to the client that
 * started the task, HMAC-sealed with the gateway's `stateKey` (its own derived key, so a `requestState` is
 * never a task id). Any replica holding the key routes `tasks/*` to the owning member; another client, or a
 * forged or altered id, gets the answer for an unknown task (-32602), which reveals nothing.
 */
export class TaskIds {
  private readonly sealer: StateSealer
  /** Ids whose seal was checked, by id: polling a task checks its HMAC once, not on every tasks/get. */
  private readonly opened = new Map<string, { route: TaskRoute; owner: string; exp: number }>()

  constructor(stateKey: string | undefined) {
    this.sealer = createStateSealer(stateKey === undefined ? undefined : `tasks:${stateKey}`, TASK_ID_TTL_MS)
  }

  seal(route: TaskRoute, principal: string | undefined): string {
    // The sealer's fields, reused: `state` carries the upstream's task id, `request` whose task it is.
    return this.sealer.seal({ upstream: route.upstream, state: route.taskId, request: ownerDigest(principal) })
  }

  /** The route of a sealed id `principal` may use; -32602 otherwise. */
  open(sealed: unknown, principal: string | undefined): TaskRoute {
    const known = typeof sealed === 'string' ? (this.opened.get(sealed) ?? this.check(sealed)) : undefined
    if (known && known.owner === ownerDigest(principal) && known.exp >= Date.now()) return known.route
    throw new GatewayError(INVALID_PARAMS, `Unknown task ${JSON.stringify(sealed)}.`)
  }

  /** A sealed id's route, owner and expiry once its seal is checked (remembered); undefined for one that is not the gateway's. */
  private check(sealed: string) {
    try {
      const state = this.sealer.open(sealed)
      if (typeof state.state !== 'string') return undefined
      return remember(this.opened, sealed, { route: { upstream: state.upstream, taskId: state.state }, owner: state.request, exp: state.exp })
    } catch {
      // Forged, altered, expired or another gateway's: all the same unknown task.
      return undefined
    }
  }

  /** An upstream's CreateTaskResult (2026: flat) with the id the client is to use. */
  expose(result: Params, upstream: string, principal: string | undefined): Params {
    if (typeof result.taskId !== 'string') return result
    return { ...result, taskId: this.seal({ upstream, taskId: result.taskId }, principal) }
  }

  /** The same for a 2025 CreateTaskResult (`task` nested); any other result as it is. */
  exposeLegacy(result: Params, upstream: string, principal: string | undefined): Params {
    const task = result.task as Params | undefined
    if (typeof task?.taskId !== 'string') return result
    return { ...result, task: { ...task, taskId: this.seal({ upstream, taskId: task.taskId }, principal) } }
  }

  /** An upstream's answer about a task, naming it by the id the client sent (tasks/get, a 2025 tasks/cancel or tasks/result). */
  withClientId(result: Params, taskId: string): Params {
    const meta = result._meta as Params | undefined
    return {
      ...result,
      ...(typeof result.taskId === 'string' ? { taskId } : {}),
      ...(meta?.[RELATED_TASK] ? { _meta: { ...meta, [RELATED_TASK]: { taskId } } } : {}),
    }
  }
}

/**
 * A 2025 task (`ttl`, `pollInterval`) as a 2026 one (SEP-2663: `ttlMs`, `pollIntervalMs`). A 2025 task waiting
 * for input asks for it on the upstream's session, where a 2026 client cannot answer: it shows as working.
 */
export function modernTask(task: Params): Params {
  const { taskId, status, statusMessage, createdAt, lastUpdatedAt, ttl, pollInterval } = task
  return {
    taskId,
    status: status === 'input_required' ? 'working' : status,
    ...(typeof statusMessage === 'string' ? { statusMessage } : {}),
    createdAt,
    lastUpdatedAt,
    ttlMs: typeof ttl === 'number' ? ttl : null,
    ...(typeof pollInterval === 'number' ? { pollIntervalMs: pollInterval } : {}),
  }
}

/** A 2025 caller's capabilities with the tasks extension: what a 2026 upstream needs to run a call as a task. */
export function withTasksExtension(capabilities: Params | undefined): Params {
  return { ...capabilities, extensions: { ...(capabilities?.extensions as Params | undefined), [TASKS_EXTENSION]: {} } }
}

/** A 2025 tool that runs only as a task (`execution.taskSupport: "required"`), by its name at the upstream. */
export function requiresTask(tools: readonly { name: string; execution?: unknown }[], name: unknown): boolean {
  return (tools.find((tool) => tool.name === name)?.execution as { taskSupport?: unknown } | undefined)?.taskSupport === 'required'
}

/** `tasks/*` answer only clients that negotiated the extension in the request (-32021 otherwise). */
export function assertTasksNegotiated(clientCapabilities: Params | undefined): void {
  if (!negotiatedTasks(clientCapabilities)) throw tasksCapabilityRequired()
}
