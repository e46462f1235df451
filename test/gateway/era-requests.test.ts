// The gateway's 2026-07-28 front, request by request on the wire: multi-round-trip requests continue on
// another gateway process (nothing kept in memory), and bad input gets the spec's error while the gateway
// keeps serving both eras.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Gateway, type Registration } from 'airmcp/gateway'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { answerOf } from '../helpers/wire-2026.js'

const REVISION = '2026-07-28'
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'raw-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
}

interface Answer {
  status: number
  body: { result?: Record<string, unknown>; error?: { code: number; message: string; data?: Record<string, unknown> } }
}

let nextId = 1

/** One 2026 request as raw HTTP: headers and `_meta` envelope consistent unless a test overrides them. */
async function rpc(
  url: string,
  method: string,
  params: Record<string, unknown>,
  override: { headers?: Record<string, string | undefined>; meta?: Record<string, unknown> } = {},
): Promise<Answer> {
  const name = (params.name ?? params.uri) as string | undefined
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': REVISION,
    'mcp-method': method,
    ...(name ? { 'mcp-name': name } : {}),
  }
  for (const [key, value] of Object.entries(override.headers ?? {})) {
    if (value === undefined) delete headers[key]
    else headers[key] = value
  }
  const body = { jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: override.meta ?? ENVELOPE } }
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })
  return { status: res.status, body: await answerOf(res) }
}

const gateways: Gateway[] = []

/** Readiness, not a sleep: every upstream connected (a first connect on a loaded machine may be retried). */
async function connected(gateway: Gateway): Promise<void> {
  for (let checks = 0; checks < 600; checks++) {
    if (gateway.list().every((s) => s.status === 'connected')) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`upstreams not connected: ${JSON.stringify(gateway.list())}`)
}
let upstreams: Registration[] = []

async function startGateway(stateKey: string | undefined): Promise<Gateway> {
  const gateway = new Gateway({ name: 'era-requests', port: 0, handleSignals: false, stateKey, connectTimeout: 30_000, reconnectDelay: 200 })
  for (const registration of upstreams) gateway.register(registration)
  gateways.push(gateway)
  await gateway.start()
  await connected(gateway)
  return gateway
}

beforeAll(async () => {
  // Two replicas of a strict 2026 server and one 2025 server, each pool behind every gateway.
  const [a, b, legacy] = await Promise.all([
    startListening([...TSX_NODE_ARGS, 'fixtures/servers/era-strict-v2.ts'], { env: { TOOLS_TTL_MS: '60000' } }),
    startListening([...TSX_NODE_ARGS, 'fixtures/servers/era-strict-v2.ts'], { env: { TOOLS_TTL_MS: '30000' } }),
    startListening([...TSX_NODE_ARGS, 'fixtures/servers/era-legacy.ts'], { env: { TRANSPORT: 'http' } }),
  ])
  upstreams = [
    { id: 'modern-1', name: 'modern', connection: { type: 'http', url: a.url } },
    { id: 'modern-2', name: 'modern', connection: { type: 'http', url: b.url } },
    { id: 'legacy-1', name: 'legacy', connection: { type: 'http', url: legacy.url } },
  ]
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(gateways.splice(0).map((g) => g.stop()))
  await killAll()
})

const answer = { user_name: { action: 'accept', content: { name: 'Ada' } } }

describe('2026 requests through the gateway', () => {
  let one: Gateway
  let two: Gateway
  let stranger: Gateway
  beforeAll(async () => {
    ;[one, two, stranger] = await Promise.all([startGateway('shared-key'), startGateway('shared-key'), startGateway(undefined)])
  })

  it('continues a multi-round-trip call on another gateway process, at the same upstream', async () => {
    // Prefixed names: both pools offer the same tools, so the exposed name is <pool>__<tool>.
    const first = await rpc(one.url!, 'tools/call', { name: 'modern__confirm', arguments: {} })
    expect(first.body.result?.resultType).toBe('input_required')
    const inputRequests = first.body.result!.inputRequests as Record<string, { method: string }>
    expect(Object.values(inputRequests).map((r) => r.method)).toEqual(['elicitation/create'])
    const requestState = first.body.result!.requestState as string
    // Several retries, each through the other process: round-robin there would hit both replicas, yet
    // each one reaches the replica that minted the upstream's state (which refuses anyone else's).
    for (let i = 0; i < 4; i++) {
      const key = Object.keys(inputRequests)[0]
      const retry = await rpc(two.url!, 'tools/call', {
        name: 'modern__confirm',
        arguments: {},
        inputResponses: { [key]: answer.user_name },
        requestState,
      })
      expect(retry.body.result?.content).toEqual([{ type: 'text', text: 'hello Ada' }])
      // The response is the gateway's: it names the gateway, not the upstream that ran the tool.
      expect((retry.body.result?._meta as Record<string, unknown> | undefined)?.['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'era-requests' })
    }
  })

  it('turns a 2025 upstream request into input_required rounds, keeping nothing between them', async () => {
    const first = await rpc(one.url!, 'tools/call', { name: 'legacy__confirm', arguments: {} })
    expect(first.body.result?.resultType).toBe('input_required')
    const [[key, request]] = Object.entries(first.body.result!.inputRequests as Record<string, { method: string; params: { message: string } }>)
    expect(request).toMatchObject({ method: 'elicitation/create', params: { message: 'Your name?' } })
    const done = await rpc(two.url!, 'tools/call', {
      name: 'legacy__confirm',
      arguments: {},
      inputResponses: { [key]: answer.user_name },
      requestState: first.body.result!.requestState,
    })
    expect(done.body.result?.content).toEqual([{ type: 'text', text: 'hello Ada' }])
  })

  it('refuses a tampered requestState, or one sealed by a gateway with another key, with -32602', async () => {
    const first = await rpc(one.url!, 'tools/call', { name: 'modern__confirm', arguments: {} })
    const sealed = first.body.result!.requestState as string
    const flipped = sealed.slice(0, -3) + (sealed.at(-3) === 'A' ? 'B' : 'A') + sealed.slice(-2)
    for (const [url, requestState] of [
      [one.url!, flipped],
      [one.url!, 'not-a-gateway-state'],
      [stranger.url!, sealed],
    ]) {
      const refused = await rpc(url, 'tools/call', { name: 'modern__confirm', arguments: {}, inputResponses: answer, requestState })
      expect(refused.body.error?.code).toBe(-32602)
    }
    // State is bound to its request: presented on another tool, it is refused too.
    const elsewhere = await rpc(one.url!, 'tools/call', { name: 'modern__echo', arguments: { text: 'x' }, requestState: sealed })
    expect(elsewhere.body.error?.code).toBe(-32602)
  })

  it('answers a header/body mismatch with 400 and HeaderMismatch (-32020)', async () => {
    const mismatched = await rpc(one.url!, 'tools/call', { name: 'modern__echo', arguments: { text: 'x' } }, {
      headers: { 'mcp-name': 'legacy__echo' },
    })
    expect(mismatched.status).toBe(400)
    expect(mismatched.body.error?.code).toBe(-32020)
    const wrongMethod = await rpc(one.url!, 'tools/list', {}, { headers: { 'mcp-method': 'prompts/list' } })
    expect(wrongMethod.status).toBe(400)
    expect(wrongMethod.body.error?.code).toBe(-32020)
  })

  it('answers an unsupported revision with 400 and UnsupportedProtocolVersion (-32022) naming what it serves', async () => {
    const future = await rpc(one.url!, 'tools/list', {}, {
      headers: { 'mcp-protocol-version': '2099-01-01' },
      meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
    })
    expect(future.status).toBe(400)
    expect(future.body.error?.code).toBe(-32022)
    expect(future.body.error?.data?.supported).toContain(REVISION)
  })

  it('answers a missing envelope field with 400 and -32602', async () => {
    const { 'io.modelcontextprotocol/clientCapabilities': _dropped, ...partial } = ENVELOPE
    const missing = await rpc(one.url!, 'tools/list', {}, { meta: partial })
    expect(missing.status).toBe(400)
    expect(missing.body.error?.code).toBe(-32602)
  })

  it('keeps serving both eras after all of it', async () => {
    const ok = await rpc(one.url!, 'tools/call', { name: 'modern__echo', arguments: { text: 'still here' } })
    expect(ok.body.result?.content).toEqual([{ type: 'text', text: 'modern: still here' }])
    const legacyClient = new Client({ name: 'legacy-client', version: '1.0.0' })
    await legacyClient.connect(new StreamableHTTPClientTransport(new URL(one.url!)))
    const result = await legacyClient.callTool({ name: 'legacy__echo', arguments: { text: 'old' } })
    expect(result.content).toEqual([{ type: 'text', text: 'legacy: old' }])
    await legacyClient.close()
  })

  it('merges cache hints conservatively and answers server/discover', async () => {
    const list = await rpc(one.url!, 'tools/list', {})
    // The 2025 upstream gives no hint: the merged list may not be reused, nor shared.
    expect(list.body.result).toMatchObject({ ttlMs: 0, cacheScope: 'private' })
    const discover = await rpc(one.url!, 'server/discover', {})
    expect(discover.body.result?.supportedVersions).toContain(REVISION)
    // Two 2026 replicas saying public for 60 s and 30 s: public for the shorter.
    const modernOnly = new Gateway({ name: 'modern-only', port: 0, handleSignals: false })
    for (const registration of upstreams.filter((u) => u.name === 'modern')) modernOnly.register(registration)
    gateways.push(modernOnly)
    await modernOnly.start()
    await connected(modernOnly)
    const merged = await rpc(modernOnly.url!, 'tools/list', {})
    expect(merged.body.result).toMatchObject({ ttlMs: 30_000, cacheScope: 'public' })
  })
})

describe('notifications in both eras', () => {
  it('tells 2025 sessions and 2026 listen streams about list changes and resource updates', async () => {
    const gateway = await startGateway(undefined)
    const events = { legacy: [] as string[], modern: [] as string[] }
    const clients = await Promise.all(
      (['legacy', 'modern'] as const).map(async (era) => {
        const client = new Client(
          { name: `${era}-listener`, version: '1.0.0' },
          { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : { pin: REVISION } } },
        )
        client.setNotificationHandler('notifications/tools/list_changed', () => void events[era].push('tools'))
        client.setNotificationHandler('notifications/resources/updated', (n) => void events[era].push(`updated ${n.params.uri}`))
        await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url!)))
        return client
      }),
    )
    const [legacyClient, modernClient] = clients
    await legacyClient.subscribeResource({ uri: 'memo://note' })
    const subscription = await modernClient.listen({ toolsListChanged: true, resourceSubscriptions: ['memo://note'] })
    expect(subscription.honoredFilter).toMatchObject({ toolsListChanged: true })

    // A 2025 upstream and a strict 2026 upstream each grow a tool: both clients hear of it and see it.
    await modernClient.callTool({ name: 'legacy__add_tool', arguments: { name: 'fresh_legacy' } })
    await modernClient.callTool({ name: 'modern__add_tool', arguments: { name: 'fresh_modern' } })
    for (const client of clients) {
      await expect
        .poll(async () => (await client.listTools()).tools.map((t) => t.name), { timeout: 10_000 })
        .toEqual(expect.arrayContaining(['fresh_legacy', 'fresh_modern']))
    }
    await expect.poll(() => events.legacy.filter((e) => e === 'tools').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    await expect.poll(() => events.modern.filter((e) => e === 'tools').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)

    await legacyClient.callTool({ name: 'modern__touch', arguments: {} })
    for (const era of ['legacy', 'modern'] as const) {
      await expect.poll(() => events[era], { timeout: 10_000 }).toContain('updated memo://note')
    }
    await subscription.close()
    await Promise.all(clients.map((c) => c.close()))
  })
})
