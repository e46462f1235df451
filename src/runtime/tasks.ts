import { randomUUID } from 'node:crypto'
import { MissingRequiredClientCapabilityError, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server'
import { isAnswer, type Ask, type InputMethod } from './input-rounds.js'
import type { TaskFeed } from './task-listen.js'
import { toToolResult, errorResult, type ToolResult } from './tool.js'

/**
 * Tasks (SEP-2663, the `io.modelcontextprotocol/tasks` extension of 2026-07-28): a tool call that takes
 * long returns a task at once; the handler runs on, and the client polls `tasks/get` (the result is inlined
 * once terminal), answers its questions with `tasks/update` and stops it with `tasks/cancel`. Every change,
 * the client's included, goes through the {@link TaskStore}: the process running a handler watches its task
 * there, so a store shared by replicas lets any of them answer for the task.
 */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks'

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled'

const TERMINAL = new Set<TaskStatus>(['completed', 'failed', 'cancelled'])

/** One task as the store keeps it; `answers` (the client's input responses not yet taken) never goes on the wire. */
export interface TaskState {
  taskId: string
  status: TaskStatus
  statusMessage?: string
  createdAt: string
  lastUpdatedAt: string
  ttlMs: number
  pollIntervalMs: number
  result?: ToolResult
  error?: { code: number; message: string; data?: unknown }
  inputRequests?: Record<string, { method: InputMethod; params: Record<string, unknown> }>
  answers?: Record<string, unknown>
}

/**
 * Where tasks live. In memory by default; a store shared by replicas (Redis, a database) lets any of them
 * serve `tasks/get|update|cancel`: `update` must be atomic per task, and `watch` must report changes made
 * by any replica (the process running the handler learns of cancellation and answers through it).
 */
export interface TaskStore {
  get(taskId: string): Promise<TaskState | undefined>
  /** Saves a new task; kept at least `ttlMs` from its creation. */
  create(state: TaskState): Promise<void>
  /** Applies `change` to the task atomically; resolves undefined when there is no such task. */
  update(taskId: string, change: (state: TaskState) => TaskState): Promise<TaskState | undefined>
  /** Calls `listener` with the task after every change; returns a function that stops watching. */
  watch(taskId: string, listener: (state: TaskState) => void): () => void
}

/** The default store: this process's memory, each task dropped `ttlMs` after its creation. */
export class MemoryTaskStore implements TaskStore {
  readonly #tasks = new Map<string, TaskState>()
  readonly #listeners = new Map<string, Set<(state: TaskState) => void>>()

  async get(taskId: string) {
    return this.#tasks.get(taskId)
  }

  async create(state: TaskState) {
    this.#tasks.set(state.taskId, state)
    setTimeout(() => this.#tasks.delete(state.taskId), state.ttlMs).unref()
  }

  async update(taskId: string, change: (state: TaskState) => TaskState) {
    const current = this.#tasks.get(taskId)
    if (!current) return undefined
    const next = change(current)
    this.#tasks.set(taskId, next)
    for (const listener of this.#listeners.get(taskId) ?? []) listener(next)
    return next
  }

  watch(taskId: string, listener: (state: TaskState) => void) {
    const listeners = this.#listeners.get(taskId) ?? new Set()
    this.#listeners.set(taskId, listeners.add(listener))
    return () => {
      listeners.delete(listener)
      if (!listeners.size) this.#listeners.delete(taskId)
    }
  }
}

/** How long tasks are kept and how often clients are told to poll. */
export interface TaskOptions {
  store?: TaskStore
  /** How long a task and its result stay readable, from its creation (default 1 hour). */
  ttlMs?: number
  /** The polling interval suggested to clients (default 1000 ms). */
  pollIntervalMs?: number
}

/** Whether a request's client capabilities include the tasks extension. */
export function negotiatedTasks(capabilities: Record<string, unknown> | undefined): boolean {
  const extensions = capabilities?.extensions as Record<string, unknown> | undefined
  return typeof extensions === 'object' && extensions !== null && TASKS_EXTENSION in extensions
}

/** The -32021 error for a client that did not negotiate the extension. */
export function tasksCapabilityRequired(): MissingRequiredClientCapabilityError {
  return new MissingRequiredClientCapabilityError({ requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } } as never)
}

/** The task fields every task response carries (the `Task` base of SEP-2663). */
function taskFields(state: TaskState) {
  const { taskId, status, statusMessage, createdAt, lastUpdatedAt, ttlMs, pollIntervalMs } = state
  return { taskId, status, ...(statusMessage ? { statusMessage } : {}), createdAt, lastUpdatedAt, ttlMs, pollIntervalMs }
}

/** `CreateTaskResult`: a flat task, no result yet. */
export function createTaskResult(state: TaskState) {
  return { resultType: 'task' as const, ...taskFields(state) }
}

/** `tasks/get`'s DetailedTask: the result, error or pending questions inlined by status. */
export function detailedTask(state: TaskState) {
  return {
    resultType: 'complete' as const,
    ...taskFields(state),
    ...(state.status === 'completed' ? { result: state.result } : {}),
    ...(state.status === 'failed' ? { error: state.error } : {}),
    ...(state.status === 'input_required' ? { inputRequests: state.inputRequests } : {}),
  }
}

/**
 * The 2025-11-25 experimental shape of a task (`tasks` capability): `ttl` and `pollInterval` in ms, no
 * inlined result (a 2025 client fetches it with `tasks/result`). From a stored task, or from one a 2026 server sent (the gateway).
 */
export function legacyTask(state: TaskState | Record<string, unknown>) {
  const { taskId, status, statusMessage, createdAt, lastUpdatedAt, ttlMs, pollIntervalMs } = state
  return { taskId, status, ...(statusMessage ? { statusMessage } : {}), createdAt, lastUpdatedAt, ttl: ttlMs, pollInterval: pollIntervalMs }
}

/** `_meta` tying a 2025 `tasks/result` to its task. */
const RELATED_TASK = 'io.modelcontextprotocol/related-task'

const now = () => new Date().toISOString()

/** What a handler running as a task gets in place of the request's own channel. */
export interface TaskChannel {
  taskId: string
  signal: AbortSignal
  ask: Ask
  progress(progress: number, total?: number, message?: string): Promise<void>
}

const ASK_PREFIX: Record<InputMethod, string> = { 'elicitation/create': 'elicit', 'sampling/createMessage': 'sample', 'roots/list': 'roots' }

/** Tasks of one server: creating them, running handlers as them, and the `tasks/*` methods. */
export class TaskRunner {
  readonly store: TaskStore
  readonly #ttlMs: number
  readonly #pollIntervalMs: number

  constructor(options: TaskOptions = {}) {
    this.store = options.store ?? new MemoryTaskStore()
    this.#ttlMs = options.ttlMs ?? 3_600_000
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000
  }

  /**
   * Creates a task (durably: `tasks/get` finds it as soon as this resolves) and runs `run` as it. A value
   * completes the task; an `isError` result or a thrown error completes it with `isError`; a thrown
   * ProtocolError fails it. Nothing the handler does after a cancel changes the task.
   */
  async start(run: (channel: TaskChannel) => Promise<unknown>, onStatus?: (state: TaskState) => void) {
    const created = now()
    const state: TaskState = {
      taskId: randomUUID(),
      status: 'working',
      createdAt: created,
      lastUpdatedAt: created,
      ttlMs: this.#ttlMs,
      pollIntervalMs: this.#pollIntervalMs,
    }
    await this.store.create(state)
    const { taskId } = state
    const abort = new AbortController()
    const waiting = new Map<string, (answer: Record<string, unknown>) => void>()
    let status = state.status
    const stopWatching = this.store.watch(taskId, (current) => {
      if (current.status !== status) onStatus?.(current)
      status = current.status
      if (current.status === 'cancelled') abort.abort(new Error('The task was cancelled.'))
      for (const [key, resolve] of waiting) {
        const answer = current.answers?.[key]
        if (answer !== undefined) {
          waiting.delete(key)
          resolve(answer as Record<string, unknown>)
        }
      }
    })
    const counters = new Map<InputMethod, number>()
    const ask: Ask = (method, params, key) => {
      const n = (counters.get(method) ?? 0) + 1
      counters.set(method, n)
      const id = key ?? `${ASK_PREFIX[method]}-${n}`
      const answered = new Promise<Record<string, unknown>>((resolve) => waiting.set(id, resolve))
      void this.#change(taskId, (s) => ({
        ...s,
        status: 'input_required',
        inputRequests: { ...s.inputRequests, [id]: { method, params } },
      }))
      return answered
    }
    const channel: TaskChannel = {
      taskId,
      signal: abort.signal,
      ask,
      progress: async (progress, total, message) => {
        const statusMessage = message ?? (total === undefined ? `${progress}` : `${progress}/${total}`)
        await this.#change(taskId, (s) => ({ ...s, statusMessage }))
      },
    }
    void run(channel)
      .then(
        (value) => ({ status: 'completed' as const, result: toToolResult(value) }),
        (error: unknown) =>
          error instanceof ProtocolError
            ? { status: 'failed' as const, error: { code: error.code, message: error.message, data: error.data } }
            : { status: 'completed' as const, result: errorResult(error) },
      )
      .then((outcome) => this.#change(taskId, (s) => ({ ...s, ...outcome, inputRequests: undefined, answers: undefined })))
      .finally(stopWatching)
    return state
  }

  /** What a 2026 client's task listen stream reports (task-listen.ts): each task as `tasks/get` shows it, after each change. */
  readonly feed: TaskFeed = {
    current: async (taskId) => {
      const state = await this.store.get(taskId)
      return state && detailedTask(state)
    },
    watch: (taskId, listener) => this.store.watch(taskId, (state) => listener(detailedTask(state))),
  }

  /** `tasks/get`: -32602 for a task this server does not know (or no longer keeps). */
  async get(taskId: unknown) {
    return detailedTask(await this.#find(taskId))
  }

  /** `tasks/update`: takes the answers to pending questions (others are ignored); the task resumes when none is left. */
  async update(taskId: unknown, inputResponses: unknown) {
    if (typeof inputResponses !== 'object' || inputResponses === null || Array.isArray(inputResponses)) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'tasks/update needs inputResponses: an object keyed by the inputRequests ids.')
    }
    await this.#find(taskId)
    await this.store.update(taskId as string, (s) => {
      const pending = { ...s.inputRequests }
      const answers = { ...s.answers }
      for (const [key, answer] of Object.entries(inputResponses as Record<string, unknown>)) {
        const request = pending[key]
        if (!request || !isAnswer(request.method, answer)) continue
        answers[key] = answer
        delete pending[key]
      }
      const waiting = Object.keys(pending).length > 0
      return {
        ...s,
        status: s.status === 'input_required' && !waiting ? 'working' : s.status,
        inputRequests: waiting ? pending : undefined,
        answers,
        lastUpdatedAt: now(),
      }
    })
    return { resultType: 'complete' as const }
  }

  /** `tasks/cancel`: the same empty ack whether the task was running or had already ended. */
  async cancel(taskId: unknown) {
    await this.#find(taskId)
    await this.#change(taskId as string, (s) => ({ ...s, status: 'cancelled', inputRequests: undefined, answers: undefined }))
    return { resultType: 'complete' as const }
  }

  /** 2025 `tasks/get`. */
  async getLegacy(taskId: unknown) {
    return legacyTask(await this.#find(taskId))
  }

  /** 2025 `tasks/result`: waits for the task to end; its tool result, or its error. */
  async result(taskId: unknown) {
    const found = await this.#find(taskId)
    const state = TERMINAL.has(found.status)
      ? found
      : await new Promise<TaskState>((resolve) => {
          const stop = this.store.watch(found.taskId, (current) => {
            if (TERMINAL.has(current.status)) resolve((stop(), current))
          })
        })
    if (state.status === 'completed') {
      return { ...state.result, _meta: { ...(state.result?._meta as object), [RELATED_TASK]: { taskId: state.taskId } } }
    }
    if (state.status === 'failed' && state.error) throw new ProtocolError(state.error.code, state.error.message, state.error.data)
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Task ${state.taskId} was cancelled: it has no result.`)
  }

  /** 2025 `tasks/cancel`: the cancelled task; -32602 for one that had already ended. */
  async cancelLegacy(taskId: unknown) {
    const found = await this.#find(taskId)
    if (TERMINAL.has(found.status)) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Task ${found.taskId} already ended (${found.status}); it cannot be cancelled.`)
    }
    await this.cancel(taskId)
    return this.getLegacy(taskId)
  }

  async #find(taskId: unknown) {
    const state = typeof taskId === 'string' ? await this.store.get(taskId) : undefined
    if (!state) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown task ${JSON.stringify(taskId)} (it may have expired).`)
    return state
  }

  /** Changes a task that has not ended yet; a terminal task stays as it ended. */
  #change(taskId: string, change: (state: TaskState) => TaskState) {
    return this.store.update(taskId, (s) => (TERMINAL.has(s.status) ? s : { ...change(s), lastUpdatedAt: now() }))
  }
}
