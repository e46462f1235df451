// Tools run as tasks (SEP-2663) in the runtime: two servers sharing one TaskStore (as replicas would)
// serve each other's tasks, cancellation reaching the handler wherever it runs; a task is readable until its
// TTL and no longer; a client that did not negotiate tasks gets the result in the call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineServer, defineTool, MemoryTaskStore, type McpServer } from 'airmcp'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskPayloadResultSchema,
  GetTaskResultSchema,
  ListToolsResultSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { codeOf, listenToEnd, post2026, readPastKeepAlive, send, TASKS_EXTENSION, type WireClient } from '../helpers/wire-2026.js'

const withTasks = (url: string): WireClient => ({ url, capabilities: { extensions: { [TASKS_EXTENSION]: {} } } })

describe('tasks in the runtime', () => {
  const store = new MemoryTaskStore()
  const servers: McpServer[] = []
  /** Set by the handler when its signal aborts: cancellation reached the process running it. */
  let aborted = false
  const wait = defineTool('wait', {
    task: 'optional',
    params: { ms: { type: 'number' } },
    handler: async ({ ms }, ctx) => {
      await ctx.progress(0, 1, `waiting ${ms} ms`)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms)
        ctx.signal.addEventListener('abort', () => ((aborted = true), clearTimeout(timer), reject(ctx.signal.reason)), { once: true })
      })
      return `waited ${ms} ms`
    },
  })

  beforeAll(async () => {
    for (const ttlMs of [undefined, undefined, 3000]) {
      const server = defineServer({
        name: 'tasks-runtime',
        version: '1.0.0',
        transport: { type: 'http', port: 0 },
        handleSignals: false,
        metrics: false,
        tools: [wait, defineTool('only_task', { task: 'required', handler: () => 'done' })],
        // The first two share a store, as replicas would (default TTL, 1 hour); the third keeps its tasks 3 s.
        tasks: ttlMs === 3000 ? { ttlMs } : { store, pollIntervalMs: 250 },
      })
      await server.start()
      servers.push(server)
    }
  })
  afterAll(() => Promise.all(servers.map((server) => server.stop())))

  it('serves a task from another server sharing the store: read, then cancelled into the running handler', async () => {
    const [one, two] = [withTasks(servers[0]!.url!), withTasks(servers[1]!.url!)]
    const created = await send(one, 'tools/call', { name: 'wait', arguments: { ms: 60_000 } })
    expect(created).toMatchObject({ resultType: 'task', status: 'working', pollIntervalMs: 250, ttlMs: 3_600_000 })
    const taskId = created.taskId as string
    await expect.poll(async () => (await send(two, 'tasks/get', { taskId })).statusMessage).toBe('waiting 60000 ms')
    await send(two, 'tasks/cancel', { taskId })
    await expect.poll(() => aborted).toBe(true)
    expect(await send(one, 'tasks/get', { taskId })).toMatchObject({ status: 'cancelled' })
  })

  it('keeps a task and its result until its TTL, then answers as for an unknown task', async () => {
    const client = withTasks(servers[2]!.url!)
    const taskId = (await send(client, 'tools/call', { name: 'wait', arguments: { ms: 0 } })).taskId as string
    await expect.poll(async () => (await send(client, 'tasks/get', { taskId })).result).toMatchObject({ content: [{ text: 'waited 0 ms' }] })
    await expect.poll(() => codeOf(send(client, 'tasks/get', { taskId })), { timeout: 15_000, interval: 250 }).toBe(-32602)
  })

  it('reports a task’s status changes on a 2026 listen stream, from a server sharing the store too', async () => {
    const [one, two] = [withTasks(servers[0]!.url!), withTasks(servers[1]!.url!)]
    const taskId = (await send(one, 'tools/call', { name: 'wait', arguments: { ms: 1000 } })).taskId as string
    const stream = await listenToEnd(two, { taskIds: [taskId, 'no-such-task'] })
    expect(stream[0]).toMatchObject({
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: { taskIds: [taskId] }, _meta: { 'io.modelcontextprotocol/subscriptionId': expect.anything() } },
    })
    const news = stream.filter((m) => m.method === 'notifications/tasks').map((m) => m.params as Record<string, unknown>)
    expect(news.map((n) => n.status)).toEqual(['working', 'completed'])
    expect(news[1]).toMatchObject({ taskId, result: { content: [{ type: 'text', text: 'waited 1000 ms' }] } })
    expect(news[1]).not.toHaveProperty('resultType')
    expect(stream.at(-1)).toMatchObject({ result: { resultType: 'complete' } })

    expect(await codeOf(listenToEnd({ url: servers[0]!.url!, capabilities: {} }, { taskIds: [taskId] }))).toBe(-32021)
    expect(await codeOf(listenToEnd(one, { taskIds: 'all' }))).toBe(-32602)
  })

  it("keeps a task's listen stream open with the server's keepAliveMs comments while the task runs", async () => {
    let release = () => {}
    const held = defineTool('held', { task: 'required', handler: () => new Promise<string>((resolve) => (release = () => resolve('released'))) })
    const server = defineServer({ name: 'tasks-keep-alive', version: '1.0.0', transport: { type: 'http', port: 0 }, handleSignals: false, metrics: false, keepAliveMs: 100, tools: [held], tasks: {} })
    await server.start()
    servers.push(server)
    const client = withTasks(server.url!)
    const taskId = (await send(client, 'tools/call', { name: 'held', arguments: {} })).taskId as string
    const res = await post2026(client, 'subscriptions/listen', { notifications: { taskIds: [taskId] } })
    const text = await readPastKeepAlive(res, release)
    expect(text).toContain(': keepalive')
    expect(text).toContain('"status":"completed"')
    // Far short of the 15 s default: only the server's own interval can comment in time.
  }, 10_000)

  it('answers in the call a client that did not negotiate tasks', async () => {
    const plain: WireClient = { url: servers[0]!.url!, capabilities: {} }
    const result = await send(plain, 'tools/call', { name: 'wait', arguments: { ms: 1 } })
    expect(result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'waited 1 ms' }] })
    expect(await codeOf(send(plain, 'tasks/get', { taskId: 'any' }))).toBe(-32021)
  })

  it('runs tasks for a 2025-11-25 client that asks for one (the experimental tasks capability)', async () => {
    const client = new Client({ name: 'tasks-2025', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(servers[0]!.url!)))
    try {
      const { tools } = await client.request({ method: 'tools/list', params: {} }, ListToolsResultSchema)
      expect(tools.find((tool) => tool.name === 'wait')?.execution).toEqual({ taskSupport: 'optional' })
      const asTask = (ms: number) =>
        client.request({ method: 'tools/call', params: { name: 'wait', arguments: { ms }, task: { ttl: 60_000 } } }, CreateTaskResultSchema)
      const { task } = await asTask(200)
      expect(task).toMatchObject({ status: 'working', ttl: 3_600_000 })
      const result = await client.request({ method: 'tasks/result', params: { taskId: task.taskId } }, GetTaskPayloadResultSchema)
      expect(result).toMatchObject({ content: [{ type: 'text', text: 'waited 200 ms' }] })
      expect(await client.request({ method: 'tasks/get', params: { taskId: task.taskId } }, GetTaskResultSchema)).toMatchObject({ status: 'completed' })

      const long = (await asTask(60_000)).task
      const cancelled = await client.request({ method: 'tasks/cancel', params: { taskId: long.taskId } }, CancelTaskResultSchema)
      expect(cancelled).toMatchObject({ taskId: long.taskId, status: 'cancelled' })
      expect(await codeOf(client.request({ method: 'tasks/cancel', params: { taskId: long.taskId } }, CancelTaskResultSchema))).toBe(-32602)

      // Called in place: an optional task tool answers; a required one is -32601.
      expect(await client.callTool({ name: 'wait', arguments: { ms: 1 } })).toMatchObject({ content: [{ text: 'waited 1 ms' }] })
      expect(await codeOf(client.request({ method: 'tools/call', params: { name: 'only_task', arguments: {} } }, CallToolResultSchema))).toBe(-32601)
    } finally {
      await client.close()
    }
  })

  it('refuses a task option it does not know', () => {
    expect(() => defineTool('bad', { task: 'always' as never, handler: () => '' })).toThrow(/task must be 'optional' or 'required'/)
  })
})
