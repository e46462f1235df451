import { afterEach, describe, expect, it } from 'vitest'
import { CallToolResultSchema, ProgressNotificationSchema, CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { Gateway, type GatewayOptions } from 'airmcp/gateway'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, killProcess, startListening, TSX_NODE_ARGS, type Started } from '../helpers/processes.js'

const REPLICA = 'fixtures/servers/replica.ts'
const gateways: Gateway[] = []

function startReplica(name: string, transport: 'sse' | 'http' = 'sse', port = 0): Promise<Started> {
  return startListening([...TSX_NODE_ARGS, REPLICA], {
    env: { REPLICA: name, TRANSPORT: transport, AIRMCP_PORT: String(port) },
  })
}

async function startGateway(options: Partial<GatewayOptions>, register: (g: Gateway) => void): Promise<Gateway> {
  const gateway = new Gateway({ name: 'test-gateway', port: 0, handleSignals: false, ...options })
  register(gateway)
  gateways.push(gateway)
  await gateway.start()
  return gateway
}

const sse = (url: string) => ({ type: 'sse' as const, url: new URL(url).origin })

/** The tool calls a replica is running now, from its own /metrics. */
async function inFlight(url: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', url))).text()
  return Number(/^airmcp_tool_calls_in_flight\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0)
}

afterEach(async () => {
  await closeClients()
  await Promise.all(gateways.splice(0).map((g) => g.stop()))
  await killAll()
})

describe('gateway', () => {
  it("round-robins 100 calls 50/50 over two replicas of a server marked sessions: 'shared'", async () => {
    const [a, b] = await Promise.all([startReplica('a'), startReplica('b')])
    const gateway = await startGateway({ balancer: 'round-robin' }, (g) => {
      g.register({ id: 'search-1', name: 'search', transport: 'sse', connection: sse(a.url), sessions: 'shared' })
      g.register({ id: 'search-2', name: 'search', transport: 'sse', connection: sse(b.url), sessions: 'shared' })
    })
    const client = await connectClient('http', gateway.url!)
    const counts: Record<string, number> = {}
    for (let i = 0; i < 100; i++) {
      const who = textOf(await client.callTool({ name: 'whoami' }))
      counts[who] = (counts[who] ?? 0) + 1
    }
    expect(counts).toEqual({ a: 50, b: 50 })
  })

  it('round-robins client sessions over two replicas, each session staying with the replica of its own upstream session', async () => {
    const [a, b] = await Promise.all([startReplica('a'), startReplica('b')])
    const gateway = await startGateway({ balancer: 'round-robin' }, (g) => {
      g.register({ id: 'search-1', name: 'search', connection: sse(a.url) })
      g.register({ id: 'search-2', name: 'search', connection: sse(b.url) })
    })
    const clients = [await connectClient('http', gateway.url!), await connectClient('http', gateway.url!)]
    const seen: string[] = []
    for (const client of clients) {
      const answers = new Set<string>()
      for (let i = 0; i < 10; i++) answers.add(textOf(await client.callTool({ name: 'whoami' })))
      expect(answers.size).toBe(1)
      seen.push(...answers)
    }
    expect(seen.sort()).toEqual(['a', 'b'])
    expect(gateway.list().map((s) => s.ownConnections)).toEqual([1, 1])
  })

  it('fails over with no failed call when a replica dies, and takes it back when it returns', async () => {
    const a = await startReplica('a')
    let b = await startReplica('b')
    const bPort = Number(new URL(b.url).port)
    const gateway = await startGateway({ healthCheckInterval: 300, healthCheckTimeout: 10_000, reconnectDelay: 100 }, (g) => {
      g.register({ id: 'search-1', name: 'search', connection: sse(a.url) })
      g.register({ id: 'search-2', name: 'search', connection: sse(b.url) })
    })
    const clients = await Promise.all(Array.from({ length: 20 }, () => connectClient('http', gateway.url!)))
    let calls = 0
    let failures = 0
    let killed = false
    // Count-based: 200 calls before the kill, at least 400 in all, whatever the machine's speed. The health
    // check's timeout is generous so a loaded machine does not fail the healthy replica; the dead one is refused.
    await Promise.all(
      clients.map(async (client) => {
        while (calls < 400) {
          const result = await client.callTool({ name: 'echo', arguments: { text: 'x' } }).catch((e) => e)
          if (result instanceof Error || result.isError) failures++
          if (++calls === 200 && !killed) {
            killed = true
            void killProcess(b.child, 'SIGKILL')
          }
        }
      }),
    )
    expect(killed).toBe(true)
    expect(failures).toBe(0)
    await expect.poll(() => gateway.list().find((s) => s.id === 'search-2')!.status, { timeout: 10_000 }).toBe('error')
    b = await startReplica('b', 'sse', bPort)
    // Reconnects back off up to 30 s: a loaded machine may have reached the cap while the replica was away.
    await expect.poll(() => gateway.list().find((s) => s.id === 'search-2')!.status, { timeout: 35_000 }).toBe('connected')
    // Each client session stays with the replica of its own upstream session: new sessions reach b again.
    const seen = new Set<string>()
    for (let i = 0; i < 4; i++) seen.add(textOf(await (await connectClient('http', gateway.url!)).callTool({ name: 'whoami' })))
    expect(seen).toEqual(new Set(['a', 'b']))
  }, 120_000)

  it('restarts a killed stdio child and leaves none behind on stop()', async () => {
    const gateway = await startGateway({ reconnectDelay: 50 }, (g) => {
      g.register({
        id: 'analytics-1',
        name: 'analytics',
        transport: 'stdio',
        connection: { type: 'stdio', command: 'node', args: ['--import', 'tsx', REPLICA], env: { TRANSPORT: 'stdio', REPLICA: 's' } },
      })
    })
    const client = await connectClient('http', gateway.url!)
    const pid = Number(textOf(await client.callTool({ name: 'pid' })))
    process.kill(pid, 'SIGKILL')
    await expect
      .poll(async () => textOf(await client.callTool({ name: 'pid' }).catch(() => ({ content: [] }))), { timeout: 30_000 })
      .toMatch(/^\d+$/)
    const newPid = Number(textOf(await client.callTool({ name: 'pid' })))
    expect(newPid).not.toBe(pid)
    await gateway.stop()
    expect(() => process.kill(newPid, 0)).toThrow()
  })

  it('bounds a hanging call by requestTimeout, cancels it upstream, and keeps serving', async () => {
    const a = await startReplica('a', 'http')
    const gateway = await startGateway({ requestTimeout: 2000 }, (g) => {
      g.register({ id: 'slow-1', name: 'slow', connection: { type: 'http', url: a.url } })
    })
    const client = await connectClient('http', gateway.url!)
    const started = performance.now()
    const [hung, echo] = await Promise.all([
      client.callTool({ name: 'hang' }).catch((e: Error) => e),
      client.callTool({ name: 'echo', arguments: { text: 'ok' } }),
    ])
    const elapsed = performance.now() - started
    expect(hung).toBeInstanceOf(Error)
    expect((hung as Error).message).toMatch(/Server "slow" \(slow-1\) did not answer tools\/call "hang" within 2000 ms/)
    // A generous upper bound only: the call is bounded (it would otherwise hang until the test's own timeout).
    expect(elapsed).toBeLessThan(20_000)
    expect(textOf(echo)).toBe('ok')
    await expect.poll(async () => textOf(await client.callTool({ name: 'cancelled' }))).toBe('1')
  })

  it('exposes clashing names as <pool>__<tool>, and propagates list_changed', async () => {
    const [a, b] = await Promise.all([startReplica('a'), startReplica('b', 'http')])
    const gateway = await startGateway({}, (g) => {
      g.register({ id: 'one-1', name: 'one', connection: sse(a.url) })
      g.register({ id: 'two-1', name: 'two', connection: { type: 'http', url: b.url } })
    })
    const client = await connectClient('http', gateway.url!)
    const names = (await client.listTools()).tools.map((t) => t.name)
    expect(names).toContain('one__whoami')
    expect(names).toContain('two__whoami')
    expect(names.every((n) => /^[a-zA-Z0-9_-]{1,64}$/.test(n))).toBe(true)
    expect(textOf(await client.callTool({ name: 'two__whoami' }))).toBe('b')
    let changed = 0
    client.setNotificationHandler((await import('@modelcontextprotocol/sdk/types.js')).ToolListChangedNotificationSchema, () => {
      changed++
    })
    await client.callTool({ name: 'two__add_tool', arguments: { name: 'fresh' } })
    await expect.poll(() => changed).toBeGreaterThan(0)
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('fresh')
    expect(textOf(await client.callTool({ name: 'fresh' }))).toBe('fresh from b')
  })

  it('forwards progress, cancellation and sampling', async () => {
    const a = await startReplica('a', 'http')
    const gateway = await startGateway({}, (g) => {
      g.register({ id: 'p-1', name: 'p', connection: { type: 'http', url: a.url } })
    })
    const client = await connectClient('http', gateway.url!, { sampling: {} })
    const progress: number[] = []
    client.setNotificationHandler(ProgressNotificationSchema, (n) => void progress.push(n.params.progress))
    expect(textOf(await client.callTool({ name: 'progress' }, CallToolResultSchema, { onprogress: () => {} }))).toBe('done')
    await expect.poll(() => progress).toEqual([1, 2, 3])

    const controller = new AbortController()
    const call = client.callTool({ name: 'hang' }, CallToolResultSchema, { signal: controller.signal })
    // Cancel only once the replica runs the call (its own in-flight gauge says so): a cancellation that
    // overtakes the call on a loaded machine would stop it in the gateway and never reach the replica.
    await expect.poll(() => inFlight(a.url)).toBe(1)
    controller.abort('stop')
    await expect(call).rejects.toThrow()
    await expect.poll(async () => textOf(await client.callTool({ name: 'cancelled' }))).toBe('1')

    client.setRequestHandler(CreateMessageRequestSchema, () => ({
      role: 'assistant',
      content: { type: 'text', text: 'sampled!' },
      model: 'test',
    }))
    const asked = await client.callTool({ name: 'ask' })
    expect(asked.structuredContent).toMatchObject({ content: { text: 'sampled!' } })
  })

  it('requires the bearer token on its HTTP front, and sends per-upstream headers', async () => {
    const a = await startListening([...TSX_NODE_ARGS, REPLICA], {
      env: { REPLICA: 'a', TRANSPORT: 'http', AIRMCP_PORT: '0', AIRMCP_TEST_TOKEN: 'upstream-secret' },
    })
    const gateway = await startGateway({ authToken: 'front-secret' }, (g) => {
      g.register({ id: 'a-1', name: 'a', connection: { type: 'http', url: a.url, headers: { authorization: 'Bearer upstream-secret' } } })
    })
    expect(gateway.list()[0].status).toBe('connected')
    await expect(connectClient('http', gateway.url!)).rejects.toThrow()
    const denied = await fetch(gateway.url!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(denied.status).toBe(401)
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js')
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js')
    const client = new Client({ name: 't', version: '1' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(gateway.url!), { requestInit: { headers: { authorization: 'Bearer front-secret' } } }),
    )
    expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('a')
    await client.close()
  })

  it('starts with the reachable servers and reports the unreachable one', async () => {
    const a = await startReplica('a')
    // The unreachable one is refused at once; the timeout is only an upper bound for the reachable one.
    const gateway = await startGateway({ connectTimeout: 30_000 }, (g) => {
      g.register({ id: 'up-1', name: 'up', connection: sse(a.url) })
      g.register({ id: 'down-1', name: 'down', connection: { type: 'sse', url: 'http://127.0.0.1:1' } })
    })
    expect(gateway.list().map((s) => s.status)).toEqual(['connected', 'error'])
    const health = await (await fetch(new URL('/health', gateway.url))).json()
    expect(health).toMatchObject({ status: 'degraded', servers: [{ id: 'up-1' }, { id: 'down-1', lastError: expect.stringContaining('connect failed') }] })
    const client = await connectClient('http', gateway.url!)
    expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('a')
  })
})
