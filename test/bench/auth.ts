// `npm run bench auth`: what identity at the front costs a tools/call. Gateways in front of one Streamable
// HTTP upstream with a static token (auth off), with OAuth on (RS256 and ES256 access tokens from a real
// authorization server, JWKS cached), and with the audit log to a file; each in both eras, in turns.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { GatewayOptions } from 'airmcp/gateway'
import { decodeProtectedHeader } from 'jose'
import { type AuthorizationServer, clientCredentialsToken, startAuthorizationServer } from '../../fixtures/auth/authorization-server.js'
import { startGateway, TOKEN } from '../hostile/harness.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { fmt, latencyAndCpuInTurns, median, postWithoutSharedSignal } from './measure.js'

const AUDIENCE = 'api://airmcp-bench-gateway'
const ERAS = ['2025-11-25', '2026-07-28'] as const
const ROUNDS = 1500
const WARMUP = [200, 50, 50, 50, 50]
const RUNS = WARMUP.length

interface Setup {
  label: string
  options: Partial<GatewayOptions>
  /** The bearer token its clients send. */
  token: string
}

interface Path {
  setup: Setup
  era: (typeof ERAS)[number]
  pid: number
  client: Client
}


export async function authSection(out: (line?: string) => void): Promise<void> {
  const auditDir = mkdtempSync(join(tmpdir(), 'airmcp-bench-audit-'))
  const auditFile = join(auditDir, 'audit.jsonl')
  const servers: AuthorizationServer[] = []
  const paths: Path[] = []
  try {
    // Every resource on 127.0.0.1 is this gateway's audience: one token serves every gateway of an algorithm.
    const audienceOf = (resource: string) => (resource.startsWith('http://127.0.0.1:') ? AUDIENCE : undefined)
    const oauth = async (alg: 'RS256' | 'ES256'): Promise<Setup> => {
      const as = await startAuthorizationServer(audienceOf, { alg })
      servers.push(as)
      const token = await clientCredentialsToken(as.issuer, 'http://127.0.0.1:1/mcp')
      if (decodeProtectedHeader(token).alg !== alg) throw new Error(`The authorization server signed with ${decodeProtectedHeader(token).alg}, not ${alg}.`)
      return { label: `auth on, ${alg} tokens`, options: { auth: { issuer: as.issuer, audience: AUDIENCE } }, token }
    }
    const setups: Setup[] = [
      { label: 'auth off (static token)', options: {}, token: TOKEN },
      await oauth('RS256'),
      await oauth('ES256'),
      { label: 'auth off, audit log to a file', options: { audit: { file: auditFile } }, token: TOKEN },
    ]
    const upstream = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-airmcp.ts'], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0' } })
    // One gateway process per set-up and era, so each one's CPU is that era's alone.
    for (const era of ERAS) {
      for (const setup of setups) {
        const gateway = await startGateway({ healthCheckInterval: 60_000, ...setup.options }, [{ id: 'echo-1', name: 'echo', connection: { type: 'http', url: upstream.url } }])
        const client = new Client({ name: 'bench', version: '1.0.0' }, era === '2026-07-28' ? { versionNegotiation: { mode: { pin: era } } } : {})
        const headers = { authorization: `Bearer ${setup.token}` }
        await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { fetch: postWithoutSharedSignal, requestInit: { headers } }))
        paths.push({ setup, era, pid: gateway.pid, client })
      }
    }

    // Each run: every path's median latency and its gateway's CPU per call over that run's calls.
    const runs = await latencyAndCpuInTurns(paths, ROUNDS, WARMUP)

    out('## Gateway: identity (OAuth resource server and audit log)')
    out()
    out(
      `tools/call through gateways in front of one Streamable HTTP upstream (fixtures/servers/bench-airmcp.ts), an SDK v2 client each, every path in turns (${RUNS} runs of ${ROUNDS} rounds; each figure the median run, each ratio the median of the runs' ratios to auth off in the same era). Tokens from oidc-provider by client credentials, one per client (its verification cached, JWKS cached); CPU from /proc over each run's calls, the gateways on one CPU.`,
    )
    out()
    out('| gateway | era | median ms | median × auth off | gateway CPU µs / call | CPU × auth off |')
    out('| --- | --- | --- | --- | --- | --- |')
    for (const [i, { setup, era }] of paths.entries()) {
      const base = paths.findIndex((p) => p.era === era && p.setup === setups[0])
      const latencyRatio = median(runs.map((r) => r[i].medianMs / r[base].medianMs))
      const cpuRatio = median(runs.map((r) => r[i].cpuUs / r[base].cpuUs))
      out(
        `| ${setup.label} | ${era} | ${fmt(median(runs.map((r) => r[i].medianMs)), 3)} | ${fmt(latencyRatio)} | ${fmt(median(runs.map((r) => r[i].cpuUs)), 0)} | ${fmt(cpuRatio)} |`,
      )
    }
    out()
    out('Targets: auth on ≤ 1.10× auth off in median latency and ≤ 1.15× in CPU per call, both eras and both algorithms; audit log on ≤ 1.05× CPU per call.')
    const auditLines = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).length
    out(`Audit lines written: ${auditLines}. Load average during the run: ${loadavg()[1].toFixed(1)} on ${cpus().length} cores.`)
    out()
  } finally {
    await Promise.all(paths.map(({ client }) => client.close()))
    await killAll()
    await Promise.all(servers.map((as) => as.close()))
    rmSync(auditDir, { recursive: true, force: true })
  }
}
