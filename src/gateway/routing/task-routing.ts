// The tasks stage: task ids sealed for the client that started a task, tasks/* requests to the member running it, and a 2025 task's status news to its session.
import { INTERNAL_ERROR, INVALID_PARAMS } from '../../protocol/codes.js'
import { ProtocolError } from '@modelcontextprotocol/client'
import { type Caller, type ForwardOptions, type Params, sessionOf, taskOwner, upstreamParams } from '../calls/index.js'
import type { Forwarding } from './forwarding.js'
import { legacyTask } from '../../runtime/tasks.js'
import { assertTasksNegotiated, modernTask, type TaskIds, type TaskMethod, withTasksExtension } from './tasks.js'
import type { Upstream } from '../upstreams/index.js'
import type { TaskFeed } from '../../runtime/task-listen.js'

const RELATED_TASK = 'io.modelcontextprotocol/related-task'
const TERMINAL_TASK = new Set(['completed', 'failed', 'cancelled'])

/** A 2025 client session that can be sent a notification (the front's SDK server). */
type TaskSession = { notification(notification: { method: string; params?: Params }): Promise<void> }

/** How often a 2026 client's listened task is read from its member: its pollIntervalMs, within these bounds. */
const MIN_FOLLOW_MS = 200
const MAX_FOLLOW_MS = 10_000

/** Bounds of the status news kept for 2025 tasks not handed out yet: tasks, and news per task. */
const MAX_EARLY_TASKS = 256
const MAX_EARLY_NEWS_PER_TASK = 4

/** A 2025 tasks/result without the `_meta` naming its task (a 2026 task's result sits inside it). */
function withoutRelatedTask(result: Params): Params {
  const { [RELATED_TASK]: _related, ...meta } = (result._meta ?? {}) as Params
  const { _meta: _all, ...rest } = result
  return Object.keys(meta).length ? { ...rest, _meta: meta } : rest
}

/** How long to wait before reading a task again: its pollIntervalMs, within bounds. */
const followDelay = (pollIntervalMs: unknown) => Math.min(Math.max(typeof pollIntervalMs === 'number' ? pollIntervalMs : 1000, MIN_FOLLOW_MS), MAX_FOLLOW_MS)

const taskKey = (upstream: string, task: Params) => `${upstream}\n${task.taskId}`

export class TaskRouting {
  /** 2025 tasks still running, by upstream and upstream task id: the session to tell of status changes. */
  private readonly taskSessions = new Map<string, { session: TaskSession; exposed: Params }>()
  /** Status news of 2025 tasks not handed to a session yet, by upstream and upstream task id (`keepEarly`). */
  private readonly earlyNews = new Map<string, Params[]>()

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
    if (exposed !== result && session) {
      const key = taskKey(upstream.id, result.task as Params)
      this.taskSessions.set(key, { session, exposed: exposed.task as Params })
      // What the server said of the task before its result named it reaches the session now, in order.
      const early = this.earlyNews.get(key) ?? []
      this.earlyNews.delete(key)
      for (const news of early) this.taskStatus(upstream, news)
    }
    return exposed
  }

  /**
   * A status change of a task no session was handed yet: a server may send one as it creates the task,
   * before its result names it. Kept for the session the result goes to (a few per task, for the latest
   * tasks: the news of a task nobody claims is dropped in time).
   */
  private keepEarly(key: string, params: Params): void {
    const kept = this.earlyNews.get(key)
    if (kept) {
      kept.push(params)
      if (kept.length > MAX_EARLY_NEWS_PER_TASK) kept.shift()
      return
    }
    if (this.earlyNews.size >= MAX_EARLY_TASKS) this.earlyNews.delete(this.earlyNews.keys().next().value!)
    this.earlyNews.set(key, [params])
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
        if (caller.era === 'modern' && upstream.era === 'legacy') return this.legacyTaskRequest(method, route.taskId, upstream, options, params.taskId as string)
        if (caller.era === 'legacy' && upstream.era === 'modern' && !upstream.sessionClient) {
          return this.modernTaskRequest(method, route.taskId, upstream, options, caller, params.taskId as string)
        }
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

  /**
   * What a 2026 client's task listen stream reports (runtime/task-listen.ts): its own tasks alone (another
   * client's id is unknown to it, as in tasks/get), each read from the member running it with tasks/get and
   * followed by reading it again every pollIntervalMs, so any replica serves the stream whatever replica
   * started the task.
   */
  feed(caller: Caller): TaskFeed {
    // Another client's, a forged or an expired id: nothing to hear of (the open throws before any request).
    const read = async (taskId: string): Promise<Params | undefined> => {
      try {
        return await this.taskRequest('tasks/get', { taskId }, caller)
      } catch {
        return undefined
      }
    }
    return {
      current: read,
      watch: (taskId, listener) => {
        let timer: NodeJS.Timeout | undefined
        let stopped = false
        const follow = (afterMs: unknown) => {
          timer = setTimeout(async () => {
            const task = await read(taskId)
            if (stopped) return
            // Unreadable for now (its member reconnecting, say): read again later, while the stream is open.
            if (task === undefined) return follow(MAX_FOLLOW_MS)
            listener(task)
            if (!TERMINAL_TASK.has(task.status as string)) follow(task.pollIntervalMs)
          }, followDelay(afterMs)).unref()
        }
        follow(undefined)
        return () => {
          stopped = true
          clearTimeout(timer)
        }
      },
    }
  }

  /**
   * A 2026 client's tasks/* on a 2025 task (era-bridge.ts `taskOnLegacy`), answered from the 2025 methods:
   * tasks/get with the result (or error) of an ended task inlined from tasks/result; tasks/cancel and
   * tasks/update acknowledged as 2026 does (the same ack for a task that had ended; no input is ever
   * pending, see `modernTask`); an unknown task is -32602 as the upstream says.
   */
  private async legacyTaskRequest(method: TaskMethod, taskId: string, upstream: Upstream, options: ForwardOptions, clientId: string): Promise<Params> {
    const ask = (legacyMethod: string) => upstream.request(legacyMethod, { taskId }, options)
    const task = await ask('tasks/get')
    if (method === 'tasks/cancel' && !TERMINAL_TASK.has(task.status as string)) await ask('tasks/cancel').catch(() => {})
    if (method !== 'tasks/get') return { resultType: 'complete' }
    const detailed: Params = { resultType: 'complete', ...modernTask(task), taskId: clientId }
    if (task.status === 'completed' || task.status === 'failed') {
      try {
        detailed.result = withoutRelatedTask(await ask('tasks/result'))
      } catch (error) {
        const { code, message } = error as { code?: unknown; message?: unknown }
        detailed.status = 'failed'
        detailed.error = { code: typeof code === 'number' ? code : INTERNAL_ERROR, message: String(message) }
      }
    }
    return detailed
  }

  /**
   * A 2025 client's tasks/* on a 2026 task (a 2026 upstream without a 2025 session: era-bridge.ts
   * `roundsForLegacy`), answered from the 2026 methods: tasks/get in the 2025 shape; tasks/result waits for
   * the task to end (reading it every pollIntervalMs) and answers its result or error; tasks/cancel answers
   * the cancelled task, -32602 for one that had ended, as 2025 does.
   */
  private async modernTaskRequest(method: TaskMethod, taskId: string, upstream: Upstream, options: ForwardOptions, caller: Caller, clientId: string): Promise<Params> {
    const meta = { 'io.modelcontextprotocol/clientCapabilities': withTasksExtension(caller.clientCapabilities) }
    const ask = (modernMethod: string) => upstream.request(modernMethod, { taskId, _meta: meta }, options)
    let task = await ask('tasks/get')
    if (method === 'tasks/cancel') {
      if (TERMINAL_TASK.has(task.status as string)) {
        throw new ProtocolError(INVALID_PARAMS, `Task ${clientId} already ended (${String(task.status)}); it cannot be cancelled.`)
      }
      await ask('tasks/cancel')
      task = await ask('tasks/get')
    }
    if (method === 'tasks/result') {
      while (!TERMINAL_TASK.has(task.status as string)) {
        await new Promise((resolve) => setTimeout(resolve, followDelay(task.pollIntervalMs)))
        if (caller.signal.aborted) throw caller.signal.reason
        task = await ask('tasks/get')
      }
      const error = task.error as { code: number; message: string; data?: unknown } | undefined
      if (task.status === 'failed' && error) throw new ProtocolError(error.code, error.message, error.data)
      if (task.status !== 'completed') throw new ProtocolError(INVALID_PARAMS, `Task ${clientId} was ${String(task.status)}: it has no result.`)
      const result = task.result as Params
      return { ...result, _meta: { ...(result._meta as Params | undefined), [RELATED_TASK]: { taskId: clientId } } }
    }
    return { ...legacyTask(task), taskId: clientId }
  }

  /** A 2025 task's status change: to the session that started the task alone, under the id it was given. */
  taskStatus(upstream: Upstream, params: Params): void {
    const key = taskKey(upstream.id, params)
    const watcher = this.taskSessions.get(key)
    if (!watcher) return this.keepEarly(key, params)
    if (TERMINAL_TASK.has(params.status as string)) this.taskSessions.delete(key)
    const notification = { method: 'notifications/tasks/status', params: { ...params, taskId: watcher.exposed.taskId } }
    void watcher.session.notification(notification).catch(() => {})
  }
}
