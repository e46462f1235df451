import type { ServerResponse } from 'node:http'
import type { ModernHandler } from '../http/host.js'
import type { QuietStreams } from '../http/keep-alive.js'
import { INVALID_PARAMS, MISSING_CLIENT_CAPABILITY } from '../protocol/codes.js'
import { TASKS_EXTENSION, negotiatedTasks } from './tasks.js'

type Params = Record<string, unknown>

/**
 * Task status notifications of 2026-07-28 (SEP-2663): a client sends `subscriptions/listen` with
 * `notifications.taskIds`, and hears `notifications/tasks` (the DetailedTask `tasks/get` would return) on
 * that stream. The SDK's listen router knows no `taskIds`, so such a stream is served here, for tasks only:
 * its acknowledgement honours `taskIds` alone (list changes come on a stream without `taskIds`).
 */
export interface TaskFeed {
  /** The task as `tasks/get` shows it; undefined for a task this client cannot hear of (unknown, another's). */
  current(taskId: string): Promise<Params | undefined>
  /** Calls `listener` with the task after each change of its status; returns a function that stops it. */
  watch(taskId: string, listener: (task: Params) => void): () => void
}

interface ListenRequest {
  id?: unknown
  method?: unknown
  params?: { notifications?: { taskIds?: unknown }; _meta?: Params }
}

const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId'
const CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities'
const TERMINAL = new Set(['completed', 'failed', 'cancelled'])
/** Most task ids one stream follows (each is a store watch, or a poll at the gateway). */
export const MAX_LISTEN_TASK_IDS = 100

/** Whether `body` is a `subscriptions/listen` asking for task status (a `taskIds` field, of any shape). */
export function isTaskListen(body: unknown): boolean {
  const request = body as ListenRequest | null
  return request?.method === 'subscriptions/listen' && request.params?.notifications?.taskIds !== undefined
}

/** One JSON-RPC error, answered as the SDK answers its own (400 for a missing client capability). */
function refuse(res: ServerResponse, id: unknown, code: number, message: string, data?: Params): void {
  res.writeHead(code === MISSING_CLIENT_CAPABILITY ? 400 : 200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message, ...(data ? { data } : {}) } }))
}

/**
 * Serves one task listen stream: refuses a client that did not declare the tasks extension (-32021) and a
 * malformed `taskIds` (-32602); acknowledges the ids it will report on (those `feed` knows for this client);
 * sends each task's current state, then every status change; ends the stream once all have ended. Its
 * keep-alive comments are the caller's (a QuietStreams following `res`).
 */
export async function serveTaskListen(res: ServerResponse, body: unknown, feed: TaskFeed): Promise<void> {
  const request = body as ListenRequest
  const id = request.id
  if (!negotiatedTasks(request.params?._meta?.[CLIENT_CAPABILITIES] as Params | undefined)) {
    return refuse(res, id, MISSING_CLIENT_CAPABILITY, 'Task status notifications need the tasks extension in the client capabilities.', {
      requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
    })
  }
  const requested = request.params?.notifications?.taskIds
  if (!Array.isArray(requested) || !requested.every((taskId) => typeof taskId === 'string')) {
    return refuse(res, id, INVALID_PARAMS, 'Invalid params: notifications.taskIds must be an array of task ids.')
  }
  if (requested.length > MAX_LISTEN_TASK_IDS) {
    return refuse(res, id, INVALID_PARAMS, `Too many task ids in one listen (${requested.length}; limit ${MAX_LISTEN_TASK_IDS}). Try this: listen on several streams.`)
  }
  // Watching starts before the current states are read, so no change falls between the two.
  const stops = new Map<string, () => void>()
  const close = () => {
    for (const stop of stops.values()) stop()
    stops.clear()
  }
  res.once('close', close)
  const early: [string, Params][] = []
  let report = (taskId: string, task: Params) => void early.push([taskId, task])
  for (const taskId of new Set(requested as string[])) stops.set(taskId, feed.watch(taskId, (task) => report(taskId, task)))
  const known = await Promise.all([...stops.keys()].map(async (taskId) => ({ taskId, task: await feed.current(taskId) })))
  const honoured = known.filter((entry): entry is { taskId: string; task: Params } => entry.task !== undefined)
  if (res.destroyed) return
  for (const { taskId, task } of known) {
    if (task !== undefined) continue
    stops.get(taskId)?.()
    stops.delete(taskId)
  }

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' })
  const stamp = (params: Params) => ({ ...params, _meta: { ...(params._meta as Params | undefined), [SUBSCRIPTION_ID]: id } })
  const write = (message: Params) => {
    if (!res.writableEnded) res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...message })}\n\n`)
  }
  /** Ends the stream as the SDK's listen router does: the listen request answered. */
  const finish = () => {
    close()
    write({ id, result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID]: id } } })
    res.end()
  }

  write({ method: 'notifications/subscriptions/acknowledged', params: stamp({ notifications: { taskIds: honoured.map((entry) => entry.taskId) } }) })
  const running = new Set(stops.keys())
  const reported = new Map<string, unknown>()
  report = (taskId, task) => {
    if (res.writableEnded || reported.get(taskId) === task.status) return
    reported.set(taskId, task.status)
    // The task as tasks/get shows it, less what belongs to a response (its result type, its `_meta`).
    const { resultType: _type, _meta: _response, ...detailed } = task
    write({ method: 'notifications/tasks', params: stamp({ ...detailed, taskId }) })
    if (TERMINAL.has(task.status as string)) running.delete(taskId)
    if (running.size === 0) finish()
  }
  for (const { taskId, task } of honoured) report(taskId, task)
  for (const [taskId, task] of early.splice(0)) report(taskId, task)
  if (honoured.length === 0) finish()
}

/**
 * `serve`, with task listen streams answered from `feed` (without one, as `serve` answers them). A listen
 * whose standard headers are not the plain 2026 ones goes to `serve` too, for the SDK's exact refusal. Each
 * stream is followed by `quiet`, the server's keep-alive holder for them.
 */
export function answerTaskListens(feed: TaskFeed | undefined, serve: ModernHandler, quiet: QuietStreams): ModernHandler {
  if (!feed) return serve
  return (req, res, body, principal) => {
    const plain = req.headers['mcp-method'] === 'subscriptions/listen' && req.headers['mcp-protocol-version'] === '2026-07-28'
    if (!plain || !isTaskListen(body)) return serve(req, res, body, principal)
    quiet.add(res)
    return serveTaskListen(res, body, feed)
  }
}
