// Tasks (SEP-2663) through real gateway processes: a 10-second task of a real upstream is polled, updated
// and cancelled with the task id the gateway sealed; a second client can neither read, answer nor cancel
// it; and two gateway replicas sharing one stateKey serve each other's tasks. Status notifications, and the
// tools' task support in 2025 listings, reach each client in its era; a task outlives a gateway restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskPayloadResultSchema,
  GetTaskResultSchema,
  ListToolsResultSchema,
  TaskStatusNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { killAll, type Started, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { auth, startGateway } from '../hostile/harness.js'
import { codeOf, listenToEnd, send, TASKS_EXTENSION, type Result, type WireClient as Client } from '../helpers/wire-2026.js'

const ALICE = 'alice-token-0123456789abcdef'
const BOB = 'bob-token-0123456789abcdef'

const get = (client: Client, taskId: string) => send(client, 'tasks/get', { taskId })

describe('tasks through the gateway', () => {
  let a = ''
  let b = ''
  /** Starts one more replica of the deployment. */
  let gateway: () => Promise<Started>

  beforeAll(async () => {
    const upstream = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/tasks.ts'], { env: { AIRMCP_PORT: '0' } })).url
    // Two replicas of one deployment: the same clients, upstream and stateKey.
    const config = JSON.stringify({
      options: {
        clients: [
          { name: 'alice', token: ALICE },
          { name: 'bob', token: BOB },
        ],
        stateKey: 'tasks-test-state-key-0123456789abcdef',
        healthCheckInterval: 600_000,
      },
      registrations: [{ id: 'jobs-1', name: 'jobs', connection: { type: 'http', url: upstream } }],
    })
    gateway = () => startListening([...TSX_NODE_ARGS, 'fixtures/servers/hostile-gateway.ts'], { env: { GATEWAY_CONFIG: config } })
    ;[a, b] = (await Promise.all([gateway(), gateway()])).map((started) => started.url)
  }, 60_000)
  afterAll(killAll)

  /** A client that declares tasks (and elicitation). */
  const client = (url: string, token: string): Client => ({ url, token, capabilities: { elicitation: {}, extensions: { [TASKS_EXTENSION]: {} } } })

  /** Polls until the task reaches `status` (what a client does between pollIntervalMs). */
  const reach = (client: Client, taskId: string, status: string) =>
    expect.poll(async () => (await get(client, taskId)).status, { timeout: 20_000, interval: 200 }).toBe(status)

  it('a 10-second task is polled, updated and cancelled by its client alone', async () => {
    const alice = client(a, ALICE)
    const bob = client(a, BOB)
    const created = await send(alice, 'tools/call', { name: 'long_job', arguments: { seconds: 10 } })
    expect(created).toMatchObject({ resultType: 'task', status: 'working' })
    const taskId = created.taskId as string
    expect((await get(alice, taskId)).taskId).toBe(taskId)

    // Another client, and an altered id, get the answer for a task that does not exist.
    expect(await codeOf(get(bob, taskId))).toBe(-32602)
    expect(await codeOf(send(bob, 'tasks/cancel', { taskId }))).toBe(-32602)
    expect(await codeOf(send(bob, 'tasks/update', { taskId, inputResponses: { continue: { action: 'decline' } } }))).toBe(-32602)
    const altered = `${taskId.slice(0, -2)}${taskId.endsWith('A') ? 'B' : 'A'}${taskId.slice(-1)}`
    expect(await codeOf(get(alice, altered))).toBe(-32602)

    // Halfway the job asks; the answer resumes it.
    await reach(alice, taskId, 'input_required')
    expect(Object.keys((await get(alice, taskId)).inputRequests as Result)).toEqual(['continue'])
    const ack = await send(alice, 'tasks/update', { taskId, inputResponses: { continue: { action: 'accept', content: { go: true } } } })
    expect(ack).toMatchObject({ resultType: 'complete' })
    expect(ack).not.toHaveProperty('status')
    await expect.poll(async () => (await get(alice, taskId)).statusMessage, { timeout: 20_000, interval: 200 }).toMatch(/^step [6-9]/)

    // Bob's attempts changed nothing; Alice's cancel ends it.
    expect(await send(alice, 'tasks/cancel', { taskId })).toMatchObject({ resultType: 'complete' })
    const cancelled = await get(alice, taskId)
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled).not.toHaveProperty('result')
  }, 60_000)

  it('replicas sharing a stateKey serve each other’s tasks, still for their client alone', async () => {
    const [aliceOnA, aliceOnB, bobOnB] = [client(a, ALICE), client(b, ALICE), client(b, BOB)]
    const created = await send(aliceOnA, 'tools/call', { name: 'long_job', arguments: { seconds: 10 } })
    const taskId = created.taskId as string
    expect(await codeOf(get(bobOnB, taskId))).toBe(-32602)
    expect(await codeOf(send(bobOnB, 'tasks/cancel', { taskId }))).toBe(-32602)

    await reach(aliceOnB, taskId, 'input_required')
    await send(aliceOnB, 'tasks/update', { taskId, inputResponses: { continue: { action: 'accept', content: { go: true } } } })
    await reach(aliceOnA, taskId, 'completed')
    const done = await get(aliceOnB, taskId)
    expect(done.result).toMatchObject({ content: [{ type: 'text', text: 'Worked 10s' }] })

    // A task started on B is cancelled through A.
    const other = (await send(aliceOnB, 'tools/call', { name: 'long_job', arguments: { seconds: 10 } })).taskId as string
    expect(await send(aliceOnA, 'tasks/cancel', { taskId: other })).toMatchObject({ resultType: 'complete' })
    expect((await get(aliceOnB, other)).status).toBe('cancelled')
  }, 60_000)

  it('2026 clients hear their own tasks’ status on a listen stream, from either replica; another client hears nothing', async () => {
    const [aliceOnA, aliceOnB, bobOnA] = [client(a, ALICE), client(b, ALICE), client(a, BOB)]
    const taskId = (await send(aliceOnA, 'tools/call', { name: 'sleep_job', arguments: { seconds: 2 } })).taskId as string
    const tasksOnly = { taskIds: [taskId] }
    const [onA, onB, bobs] = await Promise.all([listenToEnd(aliceOnA, tasksOnly), listenToEnd(aliceOnB, tasksOnly), listenToEnd(bobOnA, tasksOnly)])

    for (const stream of [onA, onB]) {
      const [ack, ...rest] = stream
      expect(ack).toMatchObject({ method: 'notifications/subscriptions/acknowledged', params: { notifications: { taskIds: [taskId] } } })
      const news = rest.filter((m) => m.method === 'notifications/tasks').map((m) => m.params as Result)
      expect(news.map((n) => [n.taskId, n.status])).toEqual([
        [taskId, 'working'],
        [taskId, 'completed'],
      ])
      expect(news.at(-1)!.result).toMatchObject({ content: [{ type: 'text', text: 'Slept 2s' }] })
      expect(news.map((n) => Object.keys(n._meta as Result))).toEqual([['io.modelcontextprotocol/subscriptionId'], ['io.modelcontextprotocol/subscriptionId']])
      // The stream ends, answered, once its tasks have.
      expect(rest.at(-1)).toMatchObject({ result: { resultType: 'complete' } })
    }
    // Bob's listen for Alice's task is acknowledged for no task and hears nothing of it.
    expect(bobs[0]).toMatchObject({ params: { notifications: { taskIds: [] } } })
    expect(bobs.filter((m) => m.method === 'notifications/tasks')).toEqual([])

    // A client that did not declare the extension is refused.
    expect(await codeOf(listenToEnd({ url: a, token: ALICE, capabilities: {} }, tasksOnly))).toBe(-32021)
  }, 60_000)

  it('2025-11-25 clients get their tasks and status notifications through the gateway too, each its own', async () => {
    const connect = async (url: string, token: string) => {
      const client = new LegacyClient({ name: 'tasks-2025', version: '1.0.0' })
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }))
      return client
    }
    const [alice, bob] = await Promise.all([connect(a, ALICE), connect(a, BOB)])
    const heard = { alice: [] as Result[], bob: [] as Result[] }
    alice.setNotificationHandler(TaskStatusNotificationSchema, (n) => void heard.alice.push(n.params))
    bob.setNotificationHandler(TaskStatusNotificationSchema, (n) => void heard.bob.push(n.params))
    try {
      // The upstream speaks 2026 to the gateway, whose listing has no per-tool task support; 2025 clients are
      // told it as the upstream's 2025 session says it (where their task calls go), 2026 clients are not.
      const { tools } = await alice.request({ method: 'tools/list', params: {} }, ListToolsResultSchema)
      expect(Object.fromEntries(tools.map((tool) => [tool.name, tool.execution]))).toEqual({
        long_job: { taskSupport: 'required' },
        sleep_job: { taskSupport: 'optional' },
      })
      const modern = (await send(client(a, ALICE), 'tools/list', {})).tools as Result[]
      expect(modern.map((tool) => [tool.name, 'execution' in tool])).toEqual([
        ['long_job', false],
        ['sleep_job', false],
      ])

      const asTask = (seconds: number) =>
        alice.request({ method: 'tools/call', params: { name: 'sleep_job', arguments: { seconds }, task: { ttl: 60_000 } } }, CreateTaskResultSchema)
      const { task } = await asTask(1)
      const taskId = task.taskId
      expect(taskId).toMatch(/^gw1\./)
      expect(await codeOf(bob.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema))).toBe(-32602)
      const result = await alice.request({ method: 'tasks/result', params: { taskId } }, GetTaskPayloadResultSchema)
      expect(result).toMatchObject({ content: [{ type: 'text', text: 'Slept 1s' }], _meta: { 'io.modelcontextprotocol/related-task': { taskId } } })
      expect(await alice.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema)).toMatchObject({ taskId, status: 'completed' })
      // The status change reached the client that started the task, under its id, and no one else.
      await expect.poll(() => heard.alice.map((n) => [n.taskId, n.status])).toContainEqual([taskId, 'completed'])

      const long = (await asTask(60)).task.taskId
      expect(await codeOf(bob.request({ method: 'tasks/cancel', params: { taskId: long } }, CancelTaskResultSchema))).toBe(-32602)
      expect(await alice.request({ method: 'tasks/cancel', params: { taskId: long } }, CancelTaskResultSchema)).toMatchObject({ taskId: long, status: 'cancelled' })
      await expect.poll(() => heard.alice.map((n) => [n.taskId, n.status])).toContainEqual([long, 'cancelled'])
      expect(heard.bob).toEqual([])
    } finally {
      await Promise.allSettled([alice.close(), bob.close()])
    }
  })

  it('a task outlives a gateway restart while its upstream runs on', async () => {
    const first = await gateway()
    const taskId = (await send(client(first.url, ALICE), 'tools/call', { name: 'sleep_job', arguments: { seconds: 1 } })).taskId as string
    first.child.kill('SIGTERM')
    await new Promise((resolve) => first.child.once('exit', resolve))
    const restarted = await gateway()
    await expect.poll(async () => (await get(client(restarted.url, ALICE), taskId)).status, { timeout: 20_000, interval: 200 }).toBe('completed')
    expect((await get(client(restarted.url, ALICE), taskId)).result).toMatchObject({ content: [{ type: 'text', text: 'Slept 1s' }] })
    expect(await codeOf(get(client(restarted.url, BOB), taskId))).toBe(-32602)
  }, 60_000)

  it('a client that did not negotiate tasks gets -32021 for a required-task tool and for tasks/*', async () => {
    const plain: Client = { url: a, token: ALICE, capabilities: { elicitation: {} } }
    expect(await codeOf(send(plain, 'tools/call', { name: 'long_job', arguments: { seconds: 1 } }))).toBe(-32021)
    expect(await codeOf(send(plain, 'tasks/get', { taskId: 'any' }))).toBe(-32021)
  })
})

describe('tasks of a 2026-only upstream (stdio, no 2025 session) for a 2025 client', () => {
  afterAll(killAll)

  it('runs its task call as a 2026 task and answers tasks/get, tasks/result and tasks/cancel in the 2025 shapes', async () => {
    const gateway = await startGateway({}, [
      { id: 'jobs-1', name: 'jobs', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/tasks.ts'], env: { TASKS_STDIO: '1' } } },
    ])
    const client = new LegacyClient({ name: 'tasks-2025', version: '1.0.0' }, { capabilities: { tasks: { cancel: {}, requests: { tools: { call: {} } } } } as never })
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: auth } }))
    try {
      const asTask = (seconds: number) =>
        client.request({ method: 'tools/call', params: { name: 'sleep_job', arguments: { seconds }, task: { ttl: 60_000 } } }, CreateTaskResultSchema)
      const { task } = await asTask(1)
      expect(task).toMatchObject({ taskId: expect.stringMatching(/^gw1\./), status: 'working', ttl: expect.any(Number) })
      const { taskId } = task
      const result = await client.request({ method: 'tasks/result', params: { taskId } }, GetTaskPayloadResultSchema)
      expect(result).toMatchObject({ content: [{ type: 'text', text: 'Slept 1s' }], _meta: { 'io.modelcontextprotocol/related-task': { taskId } } })
      expect(await client.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema)).toMatchObject({ taskId, status: 'completed' })

      const long = (await asTask(60)).task.taskId
      expect(await client.request({ method: 'tasks/cancel', params: { taskId: long } }, CancelTaskResultSchema)).toMatchObject({ taskId: long, status: 'cancelled' })
      expect(await codeOf(client.request({ method: 'tasks/cancel', params: { taskId: long } }, CancelTaskResultSchema))).toBe(-32602)
    } finally {
      await client.close()
    }
  }, 60_000)
})
