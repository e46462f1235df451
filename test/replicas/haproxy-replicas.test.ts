import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterEach, describe, expect, it } from 'vitest'
import { killAll, killProcess, startListening, TSX_NODE_ARGS, type Started } from '../helpers/processes.js'
import { hasHaproxy, startHaproxy, type Haproxy } from './haproxy.js'

// Two gateway replicas behind an ordinary load balancer (haproxy: round-robin per request, no stickiness,
// retry on connection failure). The first test proves the harness; the second is the replica scenario of
// issue 10, which runs once a 2025 session opened on one replica is known to the other.
const haproxy = hasHaproxy()
if (!haproxy && process.env.CI) throw new Error('test/replicas needs haproxy in CI: run .ci/containers.sh first.')
if (!haproxy) console.warn('test/replicas skipped: haproxy is not installed (.ci/containers.sh installs it).')

const balancers: Haproxy[] = []
afterEach(async () => {
  await Promise.all(balancers.splice(0).map((b) => b.stop()))
  await killAll()
})

/** A shared upstream and two gateway replicas registering it, the way a deployment runs them. */
async function startFleet(): Promise<{ upstream: Started; replicas: Started[]; lb: Haproxy }> {
  const upstream = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], {
    env: { REPLICA: 'upstream', TRANSPORT: 'sse', AIRMCP_PORT: '0' },
  })
  const replicas = await Promise.all(
    ['g1', 'g2'].map((name) =>
      startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica-gateway.ts'], {
        env: { GATEWAY: name, UPSTREAM: new URL(upstream.url).origin, AIRMCP_GATEWAY_PORT: '0' },
      }),
    ),
  )
  const lb = await startHaproxy(replicas.map((r) => new URL(r.url).origin))
  balancers.push(lb)
  return { upstream, replicas, lb }
}

const healthName = async (url: string) => ((await (await fetch(`${url}/health`)).json()) as { name: string }).name

/** True when a session opened on one replica answers on the other (signed, self-contained session ids). */
async function sessionsCrossReplicas(a: string, b: string): Promise<boolean> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  const init = await fetch(`${a}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'probe', version: '0' } } }),
  })
  const session = init.headers.get('mcp-session-id')
  await init.text()
  if (!session) return false
  const other = await fetch(`${b}/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  })
  await other.text()
  return other.ok
}

describe.skipIf(!haproxy)('gateway replicas behind haproxy', () => {
  it('the harness: haproxy spreads requests over both replicas and routes around one killed with SIGKILL', async () => {
    const { replicas, lb } = await startFleet()
    const names = new Set<string>()
    for (let i = 0; i < 4; i++) names.add(await healthName(lb.url))
    expect([...names].sort()).toEqual(['replica-gateway-g1', 'replica-gateway-g2'])

    await killProcess(replicas[0].child, 'SIGKILL')
    // Every request after the kill is answered: a refused connection is retried on the live replica.
    for (let i = 0; i < 10; i++) expect(await healthName(lb.url)).toBe('replica-gateway-g2')
  })

  it('20 clients calling for 20 s keep working when one replica is killed halfway; none re-initializes', async (ctx) => {
    const { replicas, lb } = await startFleet()
    const [a, b] = replicas.map((r) => new URL(r.url).origin)
    if (!(await sessionsCrossReplicas(a, b)) && !process.env.AIRMCP_TEST_REPLICA_SCENARIO) {
      console.warn(
        'test/replicas: scenario skipped: a 2025 session opened on one gateway replica is unknown to the other ' +
          '(signed session ids not served yet; AIRMCP_TEST_REPLICA_SCENARIO=1 runs it anyway).',
      )
      ctx.skip()
    }
    const initializes = new Map<number, number>()
    const clients = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const client = new Client({ name: `replica-client-${i}`, version: '0' })
        const countingFetch: typeof fetch = async (url, init) => {
          if (typeof init?.body === 'string' && init.body.includes('"method":"initialize"')) initializes.set(i, (initializes.get(i) ?? 0) + 1)
          return fetch(url, init)
        }
        await client.connect(new StreamableHTTPClientTransport(new URL(`${lb.url}/mcp`), { fetch: countingFetch }))
        return client
      }),
    )
    const calls: { start: number; ok: boolean }[] = []
    const started = Date.now()
    const end = started + 20_000
    let killedAt = Infinity
    const kill = (async () => {
      while (Date.now() < started + 10_000) await new Promise((resolve) => setTimeout(resolve, 100))
      killedAt = Date.now()
      await killProcess(replicas[0].child, 'SIGKILL')
    })()
    await Promise.all(
      clients.map(async (client, i) => {
        for (let n = 0; Date.now() < end; n++) {
          const start = Date.now()
          const ok = await client.callTool({ name: 'echo', arguments: { text: `${i}-${n}` } }).then(
            (r) => (r as { content: { text: string }[] }).content[0]?.text === `${i}-${n}`,
            () => false,
          )
          calls.push({ start, ok })
        }
      }),
    )
    await kill
    await Promise.allSettled(clients.map((c) => c.close()))
    const failedBefore = calls.filter((c) => !c.ok && c.start <= killedAt).length
    const failedAfter = calls.filter((c) => !c.ok && c.start > killedAt).length
    const reinitialized = [...initializes.values()].filter((n) => n > 1).length
    console.log(
      `replicas: 2 gateways behind haproxy, 20 clients x 20 s, replica 1 SIGKILLed at 10 s: ${calls.length} calls, ` +
        `${failedBefore} failed in flight at the kill, ${failedAfter} failed after it, ${reinitialized} clients re-initialized`,
    )
    expect(failedBefore).toBeLessThanOrEqual(20)
    expect(failedAfter).toBe(0)
    expect(reinitialized).toBe(0)
  })
})
