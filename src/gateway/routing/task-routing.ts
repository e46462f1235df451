// The tasks stage: task ids sealed for the client that started a task, tasks/* requests to the member running it, and a 2025 task's status news to its session.
import { ProtocolError } from '@modelcontextprotocol/client'
import { taskOwner, upstreamParams, type Caller, type Params } from './caller.js'
import type { Forwarding } from './forwarding.js'
import { sessionOf } from './isolation.js'
import { assertTasksNegotiated, type TaskIds, type TaskMethod } from './tasks.js'
import type { Upstream } from '../upstreams/upstream.js'

const INVALID_PARAMS = -32602
const TERMINAL_TASK = new Set(['completed', 'failed', 'cancelled'])

/** A 2025 client session that can be sent a notification (the front's SDK server). */
type TaskSession = { notification(notification: { method: string; params?: Params }): Promise<void> }

const taskKey = (upstream: string, task: Params) => `${upstream}\n${task.taskId}`

export class TaskRouting {
  /** 2025 tasks still running, by upstream and upstream task id: the session to tell of status changes. */
  private readonly taskSessions = new Map<string, { session: TaskSession; exposed: Params }>()

  constructor(
    private readonly taskIds: TaskIds,
    private readonly forwarding: Forwarding,
    private readonly upstreams: readonly Upstream[],
  ) {}

  /** A 2026 upstream's task result, its id sealed for the caller. */
  expose(result: Params, upstream: Upstream, caller: Caller): Params {
    return this.taskIds.expose(result, upstream.id, taskOwner(caller))
  }

  /** A 2025 task (the caller sent `params.task`): its id sealed like a 2026 one, its status news for this session. */
  exposeLegacy(result: Params, upstream: Upstream, caller: Caller): Params {
    const exposed = this.taskIds.exposeLegacy(result, upstream.id, taskOwner(caller))
    const session = sessionOf(caller) as TaskSession | undefined
    if (exposed !== result && session) this.taskSessions.set(taskKey(upstream.id, result.task as Params), { session, exposed: exposed.task as Params })
    return exposed
  }

  /** A client session closed: no more news of its tasks. */
  removeSession(session: object): void {
    for (const [key, watcher] of this.taskSessions) if (watcher.session === session) this.taskSessions.delete(key)
  }

  /**
   * tasks/get, tasks/update and tasks/cancel: to the member running the task (named in its sealed id),
   * for the client that started it; the answer carries the id the client sent.
   */
  taskRequest(method: TaskMethod, params: Params, caller: Caller) {
    if (caller.era === 'modern') assertTasksNegotiated(caller.clientCapabilities)
    const route = this.taskIds.open(params.taskId, taskOwner(caller))
    const pool = this.upstreams.find((u) => u.id === route.upstream)?.pool
    if (pool === undefined) throw new ProtocolError(INVALID_PARAMS, `Unknown task ${JSON.stringify(params.taskId)}.`)
    return this.forwarding.forward(
      pool,
      method,
      caller,
      async (upstream, options) => {
        const sent = {
          ...upstreamParams(params, caller, caller.era === 'modern' ? upstream.era : 'legacy'),
          taskId: route.taskId,
          ...(caller.inputResponses ? { inputResponses: caller.inputResponses } : {}),
        }
        // A 2025 caller's task lives on the upstream's 2025 session, where it asks for the 2025 shapes.
        const result = await upstream.request(method, sent, options, caller.era === 'legacy' && upstream.era === 'modern')
        return this.taskIds.withClientId(result, params.taskId as string)
      },
      route.upstream,
    )
  }

  /** A 2025 task's status change: to the session that started the task alone, under the id it was given. */
  taskStatus(upstream: Upstream, params: Params): void {
    const key = taskKey(upstream.id, params)
    const watcher = this.taskSessions.get(key)
    if (!watcher) return
    if (TERMINAL_TASK.has(params.status as string)) this.taskSessions.delete(key)
    const notification = { method: 'notifications/tasks/status', params: { ...params, taskId: watcher.exposed.taskId } }
    void watcher.session.notification(notification).catch(() => {})
  }
}
