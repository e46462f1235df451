// The everything server's task tool (simulate-research-query, taskSupport "required", 2025-11-25 tasks) run
// by a 2025 client that negotiates tasks, directly and through a real gateway process: the same listing,
// the same task lifecycle and result, the id sealed by the gateway, status news under that id. A 2026
// client runs it through the gateway as a 2026 task (SEP-2663) bridged onto the 2025 one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskPayloadResultSchema,
  GetTaskResultSchema,
  ListToolsResultSchema,
  TaskStatusNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { auth, type HostileGateway } from '../hostile/harness.js'
import { killAll } from '../helpers/processes.js'
import { codeOf, listenToEnd, send, TASKS_EXTENSION, type Result, type WireClient } from '../helpers/wire-2026.js'
import { type NpmServer, resolveEntry, startFidelityGateway } from './harness.js'

const EVERYTHING: NpmServer = { name: 'everything', entry: '@modelcontextprotocol/server-everything/dist/index.js', args: ['stdio'] }
const TOOL = 'simulate-research-query'
/** What a 2025 client declares to run tool calls as tasks. */
const TASKS = { tasks: { cancel: {}, requests: { tools: { call: {} } } } }

let gateway: HostileGateway
beforeAll(async () => {
  gateway = await startFidelityGateway([EVERYTHING])
}, 120_000)
afterAll(killAll)

async function connect(path: 'direct' | 'through'): Promise<Client> {
  const client = new Client({ name: 'fidelity-tasks', version: '1.0.0' }, { capabilities: TASKS as never })
  const transport =
    path === 'direct'
      ? new StdioClientTransport({ command: process.execPath, args: [resolveEntry(EVERYTHING.entry), 'stdio'], stderr: 'ignore' })
      : new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: auth } })
  await client.connect(transport)
  return client
}

/** One run of the task tool on a path: what the client saw, task ids and timestamps aside (they differ per run). */
async function runResearch(path: 'direct' | 'through') {
  const client = await connect(path)
  const heard: { taskId: string; status: string }[] = []
  client.setNotificationHandler(TaskStatusNotificationSchema, (n) => void heard.push({ taskId: n.params.taskId, status: n.params.status }))
  try {
    const { tools } = await client.request({ method: 'tools/list', params: {} }, ListToolsResultSchema)
    const call = () =>
      client.request({ method: 'tools/call', params: { name: TOOL, arguments: { topic: 'gateways' }, task: { ttl: 60_000 } } }, CreateTaskResultSchema)
    const { task } = await call()
    const result = await client.request({ method: 'tasks/result', params: { taskId: task.taskId } }, GetTaskPayloadResultSchema, { timeout: 30_000 })
    const ended = await client.request({ method: 'tasks/get', params: { taskId: task.taskId } }, GetTaskResultSchema)
    const second = (await call()).task.taskId
    const cancelled = await client.request({ method: 'tasks/cancel', params: { taskId: second } }, CancelTaskResultSchema)
    return {
      taskId: task.taskId,
      heard,
      seen: {
        execution: tools.find((tool) => tool.name === TOOL)?.execution,
        created: { status: task.status, ttl: task.ttl, pollInterval: task.pollInterval },
        result: { content: result.content, related: result._meta?.['io.modelcontextprotocol/related-task'] === undefined ? 'none' : 'its task' },
        ended: ended.status,
        cancelled: cancelled.status,
      },
    }
  } finally {
    await client.close()
  }
}

describe(`everything's ${TOOL} (taskSupport "required")`, () => {
  it('a 2025 client that negotiates tasks runs it as a task through the gateway as direct', async () => {
    const [direct, through] = await Promise.all([runResearch('direct'), runResearch('through')])
    expect(direct.seen).toMatchObject({ execution: { taskSupport: 'required' }, created: { status: 'working' }, ended: 'completed', cancelled: 'cancelled' })
    expect(through.seen).toEqual(direct.seen)
    // The gateway hands out its own sealed id, and the server's status news reach the client under it.
    expect(through.taskId).toMatch(/^gw1\./)
    const statusesOf = (run: typeof direct) => run.heard.filter((n) => n.taskId === run.taskId).map((n) => n.status)
    // The one the server sends as it creates the task, before its result names the task, included.
    expect(statusesOf(direct)).toContain('completed')
    expect(statusesOf(through)).toEqual(statusesOf(direct))
  }, 60_000)

  it('a 2026 client that negotiates tasks runs it through the gateway as a 2026 task, with the result a 2025 client gets', async () => {
    const modern: WireClient = { url: gateway.url, token: auth.authorization.slice('Bearer '.length), capabilities: { extensions: { [TASKS_EXTENSION]: {} } } }
    const call = () => send(modern, 'tools/call', { name: TOOL, arguments: { topic: 'gateways' } })
    const [{ seen }, created] = await Promise.all([runResearch('direct'), call()])
    expect(created).toMatchObject({ resultType: 'task', status: 'working', ttlMs: expect.any(Number), pollIntervalMs: expect.any(Number) })
    const taskId = created.taskId as string
    expect(taskId).toMatch(/^gw1\./)
    // Its status on a listen stream, and by polling: the result inlined once completed.
    const stream = await listenToEnd(modern, { taskIds: [taskId] })
    const news = stream.filter((m) => m.method === 'notifications/tasks').map((m) => m.params as Result)
    expect(news.at(-1)).toMatchObject({ taskId, status: 'completed' })
    const done = await send(modern, 'tasks/get', { taskId })
    expect(done).toMatchObject({ resultType: 'complete', taskId, status: 'completed' })
    expect((done.result as Result).content).toEqual(seen.result.content)

    const second = (await call()).taskId as string
    expect(await send(modern, 'tasks/cancel', { taskId: second })).toEqual(expect.objectContaining({ resultType: 'complete' }))
    expect(await send(modern, 'tasks/get', { taskId: second })).toMatchObject({ status: 'cancelled' })
    // Without the extension, as for a 2026 tool that must run as a task.
    expect(await codeOf(send({ ...modern, capabilities: {} }, 'tools/call', { name: TOOL, arguments: { topic: 'gateways' } }))).toBe(-32021)
  }, 60_000)
})
