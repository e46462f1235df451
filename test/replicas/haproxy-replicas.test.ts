import { afterEach, describe, expect, it } from 'vitest'
import { killAll, killProcess, startListening, TSX_NODE_ARGS, type Started } from '../helpers/processes.js'
import { hasHaproxy, startHaproxy, type Haproxy } from './haproxy.js'

// Two gateway replicas behind an ordinary load balancer (haproxy: round-robin per request, no stickiness,
// retry on connection failure). This proves the harness; the clients-and-SIGKILL scenario is haproxy.test.ts.
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
})
