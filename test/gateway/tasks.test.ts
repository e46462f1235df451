// Tasks (SEP-2663) through real gateway processes: a 10-second task of a real upstream is polled, updated
// and cancelled with the task id the gateway sealed; a second client can neither read, answer nor cancel
// it; and two gateway replicas sharing one stateKey serve each other's tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const TASKS = 'io.modelcontextprotocol/tasks'
const ALICE = 'alice-token-0123456789abcdef'
const BOB = 'bob-token-0123456789abcdef'
type Result = Record<string, unknown>

/**
 * A 2026-07-28 client on the wire (the SDK's client does not take task results yet: its codec refuses
 * `resultType: "task"`): each request self-contained, with the client's token and declared capabilities.
 */
interface Client {
  url: string
  token: string
  capabilities: Result
}

let nextId = 1

class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
  }
}

async function send(client: Client, method: string, params: Result): Promise<Result> {
  const name = (params.name ?? params.taskId) as string | undefined
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'tasks-test', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': client.capabilities,
  }
  const res = await fetch(client.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${client.token}`,
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': method,
      ...(name ? { 'mcp-name': name } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: meta } }),
  })
  const text = await res.text()
  // An SSE answer: the last `data:` line is the response.
  const json = res.headers.get('content-type')?.includes('text/event-stream')
    ? text.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5)).at(-1)!
    : text
  const answer = JSON.parse(json) as { result?: Result; error?: { code: number; message: string } }
  if (answer.error) throw new RpcError(answer.error.code, answer.error.message)
  return answer.result!
}

/** The JSON-RPC error code a request failed with. */
const codeOf = (request: Promise<unknown>) =>
  request.then(
    () => 'answered',
    (error: { code?: number }) => error.code,
  )

const get = (client: Client, taskId: string) => send(client, 'tasks/get', { taskId })

describe('tasks through the gateway', () => {
  let a = ''
  let b = ''

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
    const gateway = () => startListening([...TSX_NODE_ARGS, 'fixtures/servers/hostile-gateway.ts'], { env: { GATEWAY_CONFIG: config } })
    ;[a, b] = (await Promise.all([gateway(), gateway()])).map((started) => started.url)
  }, 60_000)
  afterAll(killAll)

  /** A client that declares tasks (and elicitation). */
  const client = (url: string, token: string): Client => ({ url, token, capabilities: { elicitation: {}, extensions: { [TASKS]: {} } } })

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

  it('a client that did not negotiate tasks gets -32021 for a required-task tool and for tasks/*', async () => {
    const plain: Client = { url: a, token: ALICE, capabilities: { elicitation: {} } }
    expect(await codeOf(send(plain, 'tools/call', { name: 'long_job', arguments: { seconds: 1 } }))).toBe(-32021)
    expect(await codeOf(send(plain, 'tasks/get', { taskId: 'any' }))).toBe(-32021)
  })
})
