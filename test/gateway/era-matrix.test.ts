// One suite, every cell: {2025 client, 2026 client} × {2025 upstream, strict SDK v2 2026 upstream} ×
// {Streamable HTTP, stdio upstream}, each running the same calls through the gateway and asserting results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { Gateway, type Connection } from 'airmcp/gateway'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const FIXTURES = { legacy: 'fixtures/servers/era-legacy.ts', modern: 'fixtures/servers/era-strict-v2.ts' }
type UpstreamEra = keyof typeof FIXTURES
type ClientEra = '2025-11-25' | '2026-07-28'

const gateways = new Map<string, Gateway>()
const clients: Client[] = []

async function upstreamConnection(era: UpstreamEra, transport: 'http' | 'stdio'): Promise<Connection> {
  if (transport === 'stdio') {
    return { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, FIXTURES[era]], env: { TRANSPORT: 'stdio' } }
  }
  const started = await startListening([...TSX_NODE_ARGS, FIXTURES[era]], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0' } })
  return { type: 'http', url: started.url }
}

async function connect(gateway: Gateway | Transport, era: ClientEra): Promise<Client> {
  const client = new Client(
    { name: 'era-matrix', version: '1.0.0' },
    {
      capabilities: { elicitation: {}, sampling: {} },
      versionNegotiation: { mode: era === '2025-11-25' ? 'legacy' : { pin: era } },
    },
  )
  client.setRequestHandler('elicitation/create', async (request) => ({
    action: 'accept',
    content: { name: `Ada (asked "${request.params.message}")` },
  }))
  client.setRequestHandler('sampling/createMessage', async () => ({
    role: 'assistant',
    model: 'test-model',
    content: { type: 'text', text: 'short' },
  }))
  await client.connect(gateway instanceof Gateway ? new StreamableHTTPClientTransport(new URL(gateway.url!)) : gateway)
  clients.push(client)
  return client
}

function textOf(result: unknown): string {
  return (result as { content: { text?: string }[] }).content[0]?.text ?? ''
}

const CELLS = (['legacy', 'modern'] as const).flatMap((upstream) =>
  (['http', 'stdio'] as const).map((transport) => ({ upstream, transport, key: `${upstream}-${transport}` })),
)

beforeAll(async () => {
  await Promise.all(
    CELLS.map(async ({ upstream, transport, key }) => {
      const gateway = new Gateway({ name: `matrix-${key}`, port: 0, handleSignals: false, connectTimeout: 30_000, reconnectDelay: 200, healthCheckInterval: 250 })
      gateway.register({ id: `${key}-1`, name: key, connection: await upstreamConnection(upstream, transport) })
      gateways.set(key, gateway)
      await gateway.start()
      // Readiness, not a sleep: on a loaded machine a first connect may time out and be retried.
      for (let checks = 0; checks < 600 && gateway.list()[0].status !== 'connected'; checks++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }),
  )
}, 120_000)

afterAll(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()))
  await Promise.allSettled([...gateways.values()].map((g) => g.stop()))
  await killAll()
})

describe.each(CELLS)('upstream $upstream over $transport', ({ upstream, key }) => {
  const label = upstream === 'legacy' ? 'legacy' : 'modern'
  const version = upstream === 'legacy' ? '2025-11-25' : '2026-07-28'

  it(`is probed and spoken to in ${version}`, () => {
    const [info] = gateways.get(key)!.list()
    expect(info.status).toBe('connected')
    expect(info.protocolVersion).toBe(version)
  })

  describe.each(['2025-11-25', '2026-07-28'] as const)('client %s', (clientEra) => {
    let client: Client
    beforeAll(async () => {
      client = await connect(gateways.get(key)!, clientEra)
      expect(client.getNegotiatedProtocolVersion()).toBe(clientEra)
    })

    it('lists and calls tools', async () => {
      const { tools } = await client.listTools()
      expect(tools.map((t) => t.name).sort()).toEqual(['add_tool', 'cancelled', 'confirm', 'echo', 'hang', 'log', 'pid', 'progress', 'summarize', 'touch'])
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe(`${label}: hi`)
    })

    it('reads resources and gets prompts', async () => {
      const { resources } = await client.listResources()
      expect(resources.map((r) => r.uri)).toEqual(['memo://note'])
      const read = await client.readResource({ uri: 'memo://note' })
      expect((read.contents[0] as { text: string }).text).toBe(`${label} note`)
      const prompt = await client.getPrompt({ name: 'greet', arguments: { who: 'Bob' } })
      expect((prompt.messages[0].content as { text: string }).text).toBe(`Hello, Bob (${label})`)
    })

    it('forwards progress', async () => {
      const seen: number[] = []
      const result = await client.callTool({ name: 'progress', arguments: {} }, { onprogress: (p) => seen.push(p.progress) })
      expect(textOf(result)).toBe('done')
      expect(seen).toEqual([1, 2, 3])
    })

    it('cancels upstream when the client cancels', async () => {
      const before = Number(textOf(await client.callTool({ name: 'cancelled', arguments: {} })))
      const abort = new AbortController()
      // The upstream reports progress once the call runs: that is when the client gives up.
      const call = client.callTool({ name: 'hang', arguments: {} }, { signal: abort.signal, onprogress: () => abort.abort() })
      await expect(call).rejects.toThrow()
      await expect
        .poll(async () => Number(textOf(await client.callTool({ name: 'cancelled', arguments: {} }))), { timeout: 10_000 })
        .toBe(before + 1)
    })

    it('bridges elicitation', async () => {
      const result = await client.callTool({ name: 'confirm', arguments: {} })
      expect(textOf(result)).toBe('hello Ada (asked "Your name?")')
    })

    it('forwards logs at the level the client asked for, and none unasked in 2026', async () => {
      const logs: unknown[] = []
      client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params.data))
      if (clientEra === '2025-11-25') await client.setLoggingLevel('info')
      const asked = clientEra === '2025-11-25' ? undefined : { 'io.modelcontextprotocol/logLevel': 'info' }
      expect(textOf(await client.callTool({ name: 'log', arguments: {}, _meta: asked }))).toBe('logged')
      await expect.poll(() => logs).toEqual([`${label} log line`])
      if (clientEra === '2026-07-28') {
        expect(textOf(await client.callTool({ name: 'log', arguments: {} }))).toBe('logged')
        expect(logs).toEqual([`${label} log line`])
      }
    })

    it('bridges sampling', async () => {
      expect(textOf(await client.callTool({ name: 'summarize', arguments: {} }))).toBe('sampled: short')
    })

    it('has kept the upstream healthy through every health check so far (2026 has no ping)', () => {
      const [info] = gateways.get(key)!.list()
      expect(info).toMatchObject({ status: 'connected', lastError: undefined })
    })
  })
})

describe.each(['2025-11-25', '2026-07-28'] as const)('the gateway on stdio, client %s', (clientEra) => {
  let client: Client
  beforeAll(async () => {
    const upstreams = [
      { id: 'strict-1', name: 'strict', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, FIXTURES.modern], env: { TRANSPORT: 'stdio' } } },
      { id: 'legacy-1', name: 'legacy', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, FIXTURES.legacy], env: { TRANSPORT: 'stdio' } } },
    ]
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [...TSX_NODE_ARGS, 'fixtures/servers/era-gateway.ts'],
      env: { ...(process.env as Record<string, string>), GATEWAY_UPSTREAMS: JSON.stringify(upstreams) },
      stderr: 'ignore',
    })
    client = await connect(transport, clientEra)
    expect(client.getNegotiatedProtocolVersion()).toBe(clientEra)
  }, 60_000)

  it.each(['strict', 'legacy'])('bridges calls to the %s upstream', async (pool) => {
    const label = pool === 'strict' ? 'modern' : 'legacy'
    expect(textOf(await client.callTool({ name: `${pool}__echo`, arguments: { text: 'hi' } }))).toBe(`${label}: hi`)
    const seen: number[] = []
    const done = await client.callTool({ name: `${pool}__progress`, arguments: {} }, { onprogress: (p) => seen.push(p.progress) })
    expect(textOf(done)).toBe('done')
    // On stdio the SDK client handles a notification one microtask after a response read in the same
    // chunk and drops progress for a call that has ended, so a loaded machine may lose some or all (the
    // HTTP cells above assert all three): those that arrive are the upstream's, in order.
    expect([1, 2, 3].filter((n) => seen.includes(n))).toEqual(seen)
    expect(textOf(await client.callTool({ name: `${pool}__confirm`, arguments: {} }))).toBe('hello Ada (asked "Your name?")')
    expect(textOf(await client.callTool({ name: `${pool}__summarize`, arguments: {} }))).toBe('sampled: short')
    const prompt = await client.getPrompt({ name: `${pool}__greet`, arguments: { who: 'Bob' } })
    expect((prompt.messages[0].content as { text: string }).text).toBe(`Hello, Bob (${label})`)
  })
})

describe.each(['2025-11-25', '2026-07-28'] as const)('a stdio client %s through `airmcp bridge`', (clientEra) => {
  it('reaches the gateway and its 2026 upstream, input requests included', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['bin/run.js', 'bridge', gateways.get('modern-http')!.url!],
      stderr: 'ignore',
    })
    const client = await connect(transport, clientEra)
    expect(client.getNegotiatedProtocolVersion()).toBe(clientEra)
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'bridged' } }))).toBe('modern: bridged')
    expect(textOf(await client.callTool({ name: 'confirm', arguments: {} }))).toBe('hello Ada (asked "Your name?")')
  }, 60_000)
})
