// `npx tsx test/bench/upstream-auth.ts`: what a protected upstream costs a tools/call when the gateway
// already holds the caller's own token for it (per-user mode, the token store read from memory), against the
// same upstream reached with a static Authorization header (no upstream auth logic). Both gateways check
// the caller's OAuth token at the front; both eras, every path in turns.
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { GatewayOptions, Registration } from 'airmcp/gateway'
import { clientCredentialsToken, GATEWAY_CLIENT, openConsentUrl, SCOPES, startAuthorizationServer, userAccessToken } from '../../fixtures/auth/authorization-server.js'
import { startGateway } from '../hostile/harness.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { fmt, latencyAndCpuInTurns, median, postWithoutSharedSignal } from './measure.js'

const FRONT = 'api://airmcp-bench-gateway'
const UPSTREAM = 'api://airmcp-bench-upstream'
const ERAS = ['2025-11-25', '2026-07-28'] as const
const ROUNDS = 1500
const WARMUP = [200, 50, 50]
const RUNS = WARMUP.length

export async function upstreamAuthSection(out: (line?: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airmcp-bench-upstream-auth-'))
  let upstreamUrl = ''
  const as = await startAuthorizationServer((resource) => (resource === upstreamUrl ? UPSTREAM : resource.startsWith('http://127.0.0.1:') ? FRONT : undefined))
  const clients: Client[] = []
  try {
    upstreamUrl = (await startListening([...TSX_NODE_ARGS, 'fixtures/auth/protected-server.ts'], { env: { OAUTH_ISSUER: as.issuer, OAUTH_AUDIENCE: UPSTREAM, AIRMCP_PORT: '0' } })).url
    const front: Partial<GatewayOptions> = { authToken: undefined, healthCheckInterval: 60_000, auth: { issuer: as.issuer, audience: FRONT, scopesSupported: SCOPES } }
    const staticHeader = `Bearer ${await clientCredentialsToken(as.issuer, upstreamUrl)}`
    const setups: { label: string; registration: Registration }[] = [
      { label: 'upstream token in a static header', registration: { id: 'who-1', name: 'who', connection: { type: 'http', url: upstreamUrl, headers: { authorization: staticHeader } } } },
      {
        label: 'per-user token held by the gateway',
        registration: {
          id: 'who-1',
          name: 'who',
          connection: { type: 'http', url: upstreamUrl, auth: { mode: 'per-user', clientId: GATEWAY_CLIENT.id, clientSecret: GATEWAY_CLIENT.secret, scope: 'mcp:tools' } },
        },
      },
    ]
    const paths: { label: string; era: string; pid: number; client: Client }[] = []
    let frontToken: string | undefined
    for (const era of ERAS) {
      for (const [index, setup] of setups.entries()) {
        const gateway = await startGateway({ ...front, tokenStore: join(dir, `${era}-${index}.json`), tokenStoreKey: 'a-bench-token-store-key-of-32-characters-or-more' }, [setup.registration])
        frontToken ??= await userAccessToken(as, 'alice', new URL('/mcp', gateway.url).href)
        const client = new Client({ name: 'bench', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } }, ...(era === '2026-07-28' ? { versionNegotiation: { mode: { pin: era } } } : {}) })
        // The first call asks alice to consent (once per gateway); every measured call finds her token held.
        client.setRequestHandler('elicitation/create', async (request) => {
          await openConsentUrl(as, (request.params as { url: string }).url, 'alice')
          return { action: 'accept' }
        })
        await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { fetch: postWithoutSharedSignal, requestInit: { headers: { authorization: `Bearer ${frontToken}` } } }))
        await client.callTool({ name: 'whoami', arguments: {} })
        clients.push(client)
        paths.push({ label: setup.label, era, pid: gateway.pid, client })
      }
    }
    const runs = await latencyAndCpuInTurns(paths, ROUNDS, WARMUP, (client) => client.callTool({ name: 'whoami', arguments: {} }))
    out('## Gateway: upstream authorization')
    out()
    out(`tools/call through gateways with OAuth at the front to one protected airmcp server, an SDK v2 client each, every path in turns (${RUNS} runs of ${ROUNDS} rounds; each figure the median run, each ratio the median of the runs' ratios; the gateways on one CPU).`)
    out()
    out('| upstream credential | era | median ms | median × static | gateway CPU µs / call | CPU × static |')
    out('| --- | --- | --- | --- | --- | --- |')
    for (const [i, { label, era }] of paths.entries()) {
      const base = paths.findIndex((p) => p.era === era && p.label === setups[0].label)
      const latency = median(runs.map((r) => r[i].medianMs / r[base].medianMs))
      const cpu = median(runs.map((r) => r[i].cpuUs / r[base].cpuUs))
      out(`| ${label} | ${era} | ${fmt(median(runs.map((r) => r[i].medianMs)), 3)} | ${fmt(latency)} | ${fmt(median(runs.map((r) => r[i].cpuUs)), 0)} | ${fmt(cpu)} |`)
    }
    out()
    out('Target: a held per-user token ≤ 1.05× the CPU per call of the static header.')
    out(`Load average during the run: ${loadavg()[1].toFixed(1)} on ${cpus().length} cores.`)
  } finally {
    await Promise.all(clients.map((client) => client.close()))
    await killAll()
    await as.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await upstreamAuthSection((line = '') => console.log(line))
  process.exit(0)
}
