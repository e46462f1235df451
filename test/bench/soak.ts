// The soak of `npm run bench`: 50 clients call through the gateway for 60 s over a stdio and a Streamable
// HTTP upstream while sessions are opened and abandoned (no DELETE), and a hostile upstream in the fleet
// re-announces its list (items nested 5,000 levels deep) twice a second; then 60 s of quiet. Reports
// calls/s, p50/p99, errors, and the gateway's RSS at start, end and 60 s later.
import { performance } from 'node:perf_hooks'
import { closeClients } from '../helpers/clients.js'
import { killAll } from '../helpers/processes.js'
import { announceLists, connect, rawSession, startGateway, startRawUpstream, startUpstream, stdioUpstream } from '../hostile/harness.js'
import { fmt } from './measure.js'

const CLIENTS = 50
const DURATION_MS = Number(process.env.SOAK_MS ?? 60_000)
const QUIET_MS = Number(process.env.SOAK_QUIET_MS ?? 60_000)

export async function soakSection(out: (line?: string) => void): Promise<void> {
  const [http, hostile] = await Promise.all([startUpstream('http'), startRawUpstream({ LISTS: 'deep' })])
  // Abandoned sessions are closed after 20 s idle, so the quiet minute shows whether memory comes back.
  const gateway = await startGateway({ sessionIdleMs: 20_000 }, [
    stdioUpstream('stdio-1', 'stdio'),
    { id: 'http-1', name: 'http', connection: { type: 'http', url: http.url } },
    { id: 'hostile-1', name: 'hostile', connection: { type: 'http', url: hostile.url } },
  ])
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(gateway.url)))
  const rssStart = gateway.rssMiB()
  const latencies: number[] = []
  let errors = 0
  let abandoned = 0
  const until = performance.now() + DURATION_MS
  const started = performance.now()
  const callers = clients.map(async (client, i) => {
    for (let n = 0; performance.now() < until; n++) {
      const name = (i + n) % 2 ? 'stdio__echo' : 'http__echo'
      const t0 = performance.now()
      try {
        const result = (await client.callTool({ name, arguments: { text: 'soak' } })) as { isError?: boolean }
        if (result.isError) errors++
      } catch {
        errors++
      }
      latencies.push(performance.now() - t0)
    }
  })
  // Clients that initialize, call once and vanish without DELETE.
  const abandoner = (async () => {
    while (performance.now() < until) {
      try {
        const session = await rawSession(gateway.url)
        await session.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'http__echo', arguments: { text: 'x' } } }))
        abandoned++
      } catch {
        errors++
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  // The hostile upstream: a burst of list_changed every half second, each listing a new list with deep items.
  let announcements = 0
  const announcer = (async () => {
    while (performance.now() < until) {
      await announceLists(hostile, 'deep', 10)
      announcements++
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  })()
  await Promise.all([...callers, abandoner, announcer])
  const elapsed = (performance.now() - started) / 1000
  const rssEnd = gateway.rssMiB()
  const sessionsEnd = (await gateway.health()).sessions
  await closeClients()
  await Promise.allSettled(clients.map((c) => c.close()))
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS))
  const rssLater = gateway.rssMiB()
  const sessionsLater = (await gateway.health()).sessions
  await killAll()
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length - 1) * p))]
  out(
    `## Soak: ${CLIENTS} clients for ${DURATION_MS / 1000} s through the gateway (stdio + Streamable HTTP upstreams), sessions abandoned, ` +
      `a hostile upstream re-announcing deep items (${announcements} bursts of 10 list_changed)`,
  )
  out()
  out('| calls | calls/s | p50 ms | p99 ms | errors | abandoned sessions | RSS start → end → +60 s (MiB) | sessions end → +60 s |')
  out('| --- | --- | --- | --- | --- | --- | --- | --- |')
  out(
    `| ${latencies.length} | ${fmt(latencies.length / elapsed, 0)} | ${fmt(pct(0.5), 1)} | ${fmt(pct(0.99), 1)} | ${errors} | ${abandoned} | ` +
      `${fmt(rssStart, 0)} → ${fmt(rssEnd, 0)} → ${fmt(rssLater, 0)} | ${sessionsEnd} → ${sessionsLater} |`,
  )
  out()
}
