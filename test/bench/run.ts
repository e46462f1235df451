// `npm run bench`: every figure is a ratio to a baseline measured in the same run, on this machine.
import { spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { connectClient, closeClients } from '../helpers/clients.js'
import { startOtlpReceiver } from '../helpers/otlp-receiver.js'
import { killAll, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { appsSection } from './apps.js'
import { authSection } from './auth.js'
import { discoverySection } from './discovery.js'
import { LEAN_ROUNDS, leanInTurns } from './lean-http.js'
import { measureLeanStdio } from './lean-stdio.js'
import { memorySection } from './memory.js'
import { fmt, interleavedMedians, measureCalls, medianWallMs, postWithoutSharedSignal, type CallStats } from './measure.js'
import { soakSection } from './soak.js'
import { upstreamAuthSection } from './upstream-auth.js'
import { tasksSection } from './tasks.js'

const lines: string[] = []
const out = (line = '') => {
  lines.push(line)
  process.stdout.write(`${line}\n`)
}

function run(command: string, args: string[], cwd = ROOT): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'ignore' })
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}`))))
  })
}

const cli = (args: string[], cwd = ROOT) => run(process.execPath, [join(ROOT, 'bin/run.js'), ...args], cwd)

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Connects once the endpoint answers; a bounded number of tries, for third-party proxies that print no URL. */
async function connectWhenUp(url: string) {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      return await connectClient('http', url)
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  throw new Error(`${url} never answered`)
}

async function cliSection() {
  const base = await medianWallMs(10, () => run(process.execPath, ['-e', '0']))
  const help = await medianWallMs(10, () => cli(['--help']))
  const fresh = () => mkdtempSync(join(tmpdir(), 'airmcp-bench-'))
  const create = await medianWallMs(5, () => cli(['new', 'demo', '--yes', '--no-install', '--no-git'], fresh()))

  // A workspace of 50 servers, then `gateway sync` registering all of them, then `add server`.
  const dir = join(fresh(), 'fleet')
  await cli(['new', 'fleet', '--yes', '--no-install', '--no-git'], join(dir, '..'))
  for (let i = 0; i < 50; i++) {
    const name = `s${i}`
    mkdirSync(join(dir, 'servers', name, 'src'), { recursive: true })
    writeFileSync(join(dir, 'servers', name, 'package.json'), JSON.stringify({ name: `@fleet/${name}`, airmcp: { type: 'sse', port: 3510 + i } }))
    writeFileSync(join(dir, 'servers', name, 'src/index.ts'), `import { defineServer } from 'airmcp';\nconst server = defineServer({ name: '${name}', version: '1.0.0', transport: { type: 'sse', port: ${3510 + i} }, tools: [] });\nserver.start();\n`)
  }
  const syncFirst = await medianWallMs(1, () => cli(['gateway', 'sync'], dir))
  const syncAgain = await medianWallMs(5, () => cli(['gateway', 'sync'], dir))
  let n = 0
  const addServer = await medianWallMs(5, () => cli(['add', 'server', `extra${n++}`, '--no-sync'], dir))

  out('## CLI (median wall time)')
  out()
  out('| command | ms | × `node -e 0` | target |')
  out('| --- | --- | --- | --- |')
  out(`| \`node -e 0\` | ${fmt(base, 0)} | 1.00 | |`)
  out(`| \`airmcp --help\` | ${fmt(help, 0)} | ${fmt(help / base)} | ≤ 2.5× |`)
  out(`| \`airmcp new demo --yes --no-install --no-git\` | ${fmt(create, 0)} | ${fmt(create / base)} | ≤ 1000 ms |`)
  out(`| \`airmcp gateway sync\`, 50 servers, registering all | ${fmt(syncFirst, 0)} | ${fmt(syncFirst / base)} | ≤ 2000 ms |`)
  out(`| \`airmcp gateway sync\`, 50 servers, already in sync | ${fmt(syncAgain, 0)} | ${fmt(syncAgain / base)} | ≤ 2000 ms |`)
  out(`| \`airmcp add server\` (in that workspace) | ${fmt(addServer, 0)} | ${fmt(addServer / base)} | ≤ 1000 ms |`)
  out()
}

async function statsFor(kind: 'stdio' | 'sse' | 'http', fixture: string): Promise<CallStats> {
  const client =
    kind === 'stdio'
      ? await connectClient('stdio', { command: process.execPath, args: [...TSX_NODE_ARGS, fixture], cwd: ROOT, env: { ...process.env, TRANSPORT: 'stdio' } as Record<string, string> })
      : await connectClient(kind, (await startListening([...TSX_NODE_ARGS, fixture], { env: { TRANSPORT: kind, AIRMCP_PORT: '0' } })).url)
  try {
    return await measureCalls(client)
  } finally {
    await closeClients()
    await killAll()
  }
}

const row = (label: string, s: CallStats, base?: CallStats) =>
  `| ${label} | ${fmt(s.medianMs)} | ${fmt(s.p99Ms)} | ${fmt(s.callsPerSecond, 0)} | ${base ? `${fmt(s.medianMs / base.medianMs)} | ${fmt(s.callsPerSecond / base.callsPerSecond)}` : '1.00 | 1.00'} |`

async function runtimeSection() {
  out('## Runtime: tools/call, airmcp vs a plain SDK McpServer (same tool)')
  out()
  out('| server | median ms | p99 ms | calls/s (50 callers) | median × SDK | throughput × SDK |')
  out('| --- | --- | --- | --- | --- | --- |')
  for (const kind of ['stdio', 'sse', 'http'] as const) {
    const [sdk, airmcp] = await pair(() => statsFor(kind, 'fixtures/servers/bench-sdk.ts'), () => statsFor(kind, 'fixtures/servers/bench-airmcp.ts'))
    out(row(`SDK McpServer, ${kind}`, sdk))
    out(row(`airmcp, ${kind}`, airmcp, sdk))
  }
  const [leanSdk, leanAirmcp] = await pair(() => leanStdio('fixtures/servers/bench-sdk.ts'), () => leanStdio('fixtures/servers/bench-airmcp.ts'))
  out(row('SDK McpServer, stdio, lean client (50 in flight)', leanSdk))
  out(row('airmcp, stdio, lean client (50 in flight)', leanAirmcp, leanSdk))
  out()
  out('Each row is the better of two alternating runs. Targets: throughput ≥ 0.95× and median ≤ 1.05× the plain SDK.')
  out(LEAN_NOTE)
  out()
}

/** A 2025 stdio session driven by raw JSON-RPC (test/bench/lean-stdio.ts): no client library in the way. */
const leanStdio = (fixture: string) =>
  measureLeanStdio([...TSX_NODE_ARGS, fixture], { cwd: ROOT, env: { ...process.env, TRANSPORT: 'stdio' } })

const LEAN_NOTE =
  'With an SDK client a stdio row measures the client as much as the server: the client spends more CPU per call than airmcp\'s stdio server, so airmcp\'s rows stop at the client\'s ceiling. ' +
  'The lean client (test/bench/lean-stdio.ts: raw newline-delimited JSON-RPC, 50 requests in flight, only correct answers counted) costs a JSON.stringify and a JSON.parse per call: its rows show the servers\' own limit.'

/** Measures with an SDK v2 client pinned to a revision (`legacy` = 2025-11-25) against a fixture over http or stdio. */
async function statsV2(kind: 'stdio' | 'sse' | 'http' | 'http-sessions', fixture: string, era: 'modern' | 'legacy'): Promise<CallStats> {
  const client = new Client({ name: 'bench', version: '1.0.0' }, era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {})
  const env = { ...process.env, TRANSPORT: kind, AIRMCP_PORT: '0' } as Record<string, string>
  let pid: number | undefined
  if (kind === 'stdio') {
    const transport = new StdioClientTransport({ command: process.execPath, args: [...TSX_NODE_ARGS, fixture], cwd: ROOT, env, stderr: 'ignore' })
    await client.connect(transport)
    pid = transport.pid ?? undefined
  } else {
    const server = await startListening([...TSX_NODE_ARGS, fixture], { env })
    pid = server.child.pid
    const options = { fetch: postWithoutSharedSignal }
    await client.connect(kind === 'sse' ? new SSEClientTransport(new URL(server.url), options) : new StreamableHTTPClientTransport(new URL(server.url), options))
  }
  try {
    return await measureCalls(client, undefined, pid)
  } finally {
    await client.close()
    await killAll()
  }
}

/** The better of two runs each, alternating: on a shared machine a single run measures the neighbours as much as the code. */
async function pair(a: () => Promise<CallStats>, b: () => Promise<CallStats>): Promise<[CallStats, CallStats]> {
  const best = (x: CallStats, y: CallStats) => (x.callsPerSecond >= y.callsPerSecond ? x : y)
  const a1 = await a()
  const b1 = await b()
  const a2 = await a()
  const b2 = await b()
  return [best(a1, a2), best(b1, b2)]
}

const cpuRow = (label: string, s: CallStats, base?: CallStats) =>
  `${row(label, s, base)} ${fmt(s.serverCpuMsPerKCall ?? NaN, 0)} | ${base ? fmt((s.serverCpuMsPerKCall ?? NaN) / (base.serverCpuMsPerKCall ?? NaN)) : '1.00'} |`

async function protocolSection() {
  const AIR = 'fixtures/servers/bench-airmcp.ts'
  const V2 = 'fixtures/servers/bench-sdk-v2.ts'
  const [handlerHttp, airHttp] = await pair(() => statsV2('http', V2, 'modern'), () => statsV2('http', AIR, 'modern'))
  const [stdioV2, airStdio] = await pair(() => statsV2('stdio', V2, 'modern'), () => statsV2('stdio', AIR, 'modern'))
  const [sessionsV2, airLegacy] = await pair(() => statsV2('http-sessions', V2, 'legacy'), () => statsV2('http', AIR, 'legacy'))
  const V1 = 'fixtures/servers/bench-sdk.ts'
  const [v1Http, airV1Http] = await pair(() => statsV2('http', V1, 'legacy'), () => statsV2('http', AIR, 'legacy'))
  const [v1Stdio, airV1Stdio] = await pair(() => statsV2('stdio', V1, 'legacy'), () => statsV2('stdio', AIR, 'legacy'))
  const [v1Sse, airV1Sse] = await pair(() => statsV2('sse', V1, 'legacy'), () => statsV2('sse', AIR, 'legacy'))
  const [v1Lean, airLean] = await pair(() => leanStdio(V1), () => leanStdio(AIR))
  out('## Runtime, 2026-07-28 and 2025-11-25 on one URL: tools/call vs plain SDK v2 servers (same tool, SDK v2 client)')
  out()
  out('| server | client | median ms | p99 ms | calls/s (50 callers) | median × SDK | throughput × SDK | server CPU ms / 1000 calls | CPU × SDK |')
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
  out(cpuRow('SDK v2 `createMcpHandler`, http | 2026-07-28', handlerHttp))
  out(cpuRow('airmcp, http | 2026-07-28', airHttp, handlerHttp))
  out(cpuRow('SDK v2 `serveStdio`, stdio | 2026-07-28', stdioV2))
  out(cpuRow('airmcp, stdio | 2026-07-28', airStdio, stdioV2))
  out(cpuRow('SDK v2 `NodeStreamableHTTPServerTransport` (sessions), http | 2025-11-25', sessionsV2))
  out(cpuRow('airmcp (own session transport), http | 2025-11-25', airLegacy, sessionsV2))
  out(cpuRow('SDK v1 McpServer (the RESULTS.md baseline), http | 2025-11-25', v1Http))
  out(cpuRow('airmcp, http | 2025-11-25', airV1Http, v1Http))
  out(cpuRow('SDK v1 McpServer (the RESULTS.md baseline), stdio | 2025-11-25', v1Stdio))
  out(cpuRow('airmcp, stdio | 2025-11-25', airV1Stdio, v1Stdio))
  out(cpuRow('SDK v1 McpServer (the RESULTS.md baseline), stdio | lean client, 2025-11-25', v1Lean))
  out(cpuRow('airmcp, stdio | lean client, 2025-11-25', airLean, v1Lean))
  out(cpuRow('SDK v1 McpServer (the RESULTS.md baseline), sse | 2025-11-25', v1Sse))
  out(cpuRow('airmcp, sse | 2025-11-25', airV1Sse, v1Sse))
  out()
  out('Each row is the better of two alternating runs. Server CPU per call is the figure a busy machine disturbs least.')
  out('Targets: 2026 throughput ≥ 1.00× the SDK v2 server; 2025 no lower than the ratios of the runtime table above.')
  out(LEAN_NOTE)
  out()
}

/** A path under measurement: its URL, and the process whose CPU counts (a proxy's own, not its upstream's). */
interface Target {
  url: string
  pid?: number
}

/** A bench gateway with one upstream; `upstreamProtocol` pins the gateway's side of the hop (`Registration.protocol`). */
async function startGateway(upstream: string, upstreamProtocol = ''): Promise<Target> {
  const gateway = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-gateway.ts'], {
    env: { UPSTREAM: upstream, UPSTREAM_PROTOCOL: upstreamProtocol },
  })
  return { url: gateway.url, pid: gateway.child.pid }
}

/** Sequential calls for the median, then 50 callers, with an SDK v2 client in either revision. */
async function measureSdk(target: Target, era: '2025' | '2026' = '2025'): Promise<CallStats> {
  if (era === '2026') return measureModern(target.url, target.pid)
  try {
    return await measureCalls(await connectClient('http', target.url), undefined, target.pid)
  } finally {
    await closeClients()
  }
}

/** The same measurement with an SDK v2 client speaking 2026-07-28. */
async function measureModern(url: string, serverPid?: number): Promise<CallStats> {
  const client = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: postWithoutSharedSignal }))
  try {
    return await measureCalls(client, undefined, serverPid)
  } finally {
    await client.close()
  }
}

/**
 * A third-party proxy's command, installed once into a cache under the OS temp dir with the given extra
 * pins (supergateway 3.4.3 resolves yargs 17.7.3, whose ESM entry imports a cliui file that does not exist).
 */
async function installedBin(spec: string, bin: string, pins: string[]): Promise<string> {
  const dir = join(tmpdir(), `airmcp-bench-${spec.replace(/[^\w.-]/g, '_')}`)
  const path = join(dir, 'node_modules', '.bin', bin)
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), '{"private":true}')
    await run('npm', ['install', '--no-audit', '--no-fund', spec, ...pins], dir)
  }
  return path
}

/** Third-party proxies started by the section, each the leader of its process group (its stdio child included). */
const proxies: number[] = []

/** Starts a third-party proxy and waits until it answers; its own process's CPU is measured like the gateway's. */
async function startProxy(command: string, args: string[], url: string): Promise<Target> {
  const child = spawn(command, args, { cwd: ROOT, stdio: 'ignore', detached: true })
  proxies.push(child.pid!)
  await connectWhenUp(url)
  await closeClients()
  return { url, pid: child.pid }
}

function stopProxies(): void {
  for (const pid of proxies.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** Runs of the in-turns latency measure, 1000 rounds each. */
const LATENCY_RUNS = 3

/**
 * The latency target's figures: a direct call and the same call through each hop, in turns on one machine
 * state (see interleavedMedians), with an SDK client each; three runs, each path's median run, and each
 * ratio to direct the median of the runs' ratios, so one noisy stretch of the machine does not decide it.
 */
async function interleavedLatency(targets: [string, Target][], era: '2025' | '2026' = '2025'): Promise<{ label: string; median: number; ratio: number }[]> {
  const modern: Client[] = []
  try {
    const clients = []
    for (const [, target] of targets) {
      if (era === '2025') clients.push(await connectClient('http', target.url))
      else {
        const client = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
        await client.connect(new StreamableHTTPClientTransport(new URL(target.url), { fetch: postWithoutSharedSignal }))
        modern.push(client)
        clients.push(client)
      }
    }
    const runs: number[][] = []
    for (let run = 0; run < LATENCY_RUNS; run++) runs.push(await interleavedMedians(clients, 1000, run === 0 ? 500 : 100))
    const middle = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]
    return targets.map(([label], i) => ({
      label,
      median: middle(runs.map((medians) => medians[i])),
      ratio: middle(runs.map((medians) => medians[i] / medians[0])),
    }))
  } finally {
    await closeClients()
    await Promise.allSettled(modern.map((client) => client.close()))
  }
}

async function gatewaySection() {
  // Every path stays up for the whole section: the latency and the lean throughput figures take turns.
  const airmcpHttp = () => startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-airmcp.ts'], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0' } })
  const directServer = await airmcpHttp()
  const direct: Target = { url: directServer.url, pid: directServer.child.pid }
  const httpUpstream = (await airmcpHttp()).url
  const gatewayHttp = await startGateway(httpUpstream)
  const gatewayHttpLegacy = await startGateway(httpUpstream, '2025-11-25')
  const relayProcess = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-relay.ts'], { env: { UPSTREAM: httpUpstream } })
  const relay: Target = { url: relayProcess.url, pid: relayProcess.child.pid }
  const leanRelayProcess = await startListening([...TSX_NODE_ARGS, 'test/bench/lean-relay.ts'], { env: { UPSTREAM: httpUpstream } })
  const leanRelay: Target = { url: leanRelayProcess.url, pid: leanRelayProcess.child.pid }
  const gatewayStdio = await startGateway('stdio')
  const stdioServer = `${process.execPath} --import tsx fixtures/servers/bench-airmcp.ts`
  const superPort = await freePort()
  const supergateway = await startProxy(
    await installedBin('supergateway@3.4.3', 'supergateway', ['yargs@17.7.2']),
    ['--stdio', `TRANSPORT=stdio ${stdioServer}`, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(superPort), '--logLevel', 'none'],
    `http://127.0.0.1:${superPort}/mcp`,
  )
  const proxyPort = await freePort()
  const mcpProxy = await startProxy(
    await installedBin('mcp-proxy@6.7.19', 'mcp-proxy', []),
    ['--port', String(proxyPort), '--', 'env', 'TRANSPORT=stdio', process.execPath, '--import', 'tsx', 'fixtures/servers/bench-airmcp.ts'],
    `http://127.0.0.1:${proxyPort}/mcp`,
  )
  const paths: [string, Target][] = [
    ['gateway → stdio upstream', gatewayStdio],
    ['gateway → Streamable HTTP upstream serving both revisions (a 2025 client rides its 2025 session)', gatewayHttp],
    ["gateway → Streamable HTTP upstream registered with protocol: '2025-11-25'", gatewayHttpLegacy],
    ['do-nothing HTTP relay (bytes passed through, no MCP) → Streamable HTTP upstream', relay],
    ['supergateway --stateful → stdio', supergateway],
    ['mcp-proxy → stdio', mcpProxy],
  ]
  try {
    const latency = await interleavedLatency([
      ['direct Streamable HTTP to the airmcp server', direct],
      ['gateway → Streamable HTTP upstream serving both revisions', gatewayHttp],
      ["gateway → the same upstream registered with protocol: '2025-11-25'", gatewayHttpLegacy],
      ['do-nothing HTTP relay → the same upstream', relay],
      ["relay built from the gateway's own HTTP parts (node:http server, its upstream client; no MCP) → the same upstream", leanRelay],
    ])
    const sdk = new Map<Target, CallStats>()
    for (const target of [direct, ...paths.map(([, t]) => t)]) sdk.set(target, await measureSdk(target))
    const modernViaGateway = await measureSdk(gatewayHttp, '2026')
    const modernDirect = await measureSdk(direct, '2026')
    const modernLatency = await interleavedLatency(
      [
        ['direct Streamable HTTP to the airmcp server, 2026 client', direct],
        ['2026 client → gateway → Streamable HTTP upstream', gatewayHttp],
      ],
      '2026',
    )
    const lean = await leanInTurns([direct, ...paths.map(([, t]) => t)])
    // A strict SDK v2 upstream (2026-07-28 only): direct with a 2026 client, then through the gateway.
    const strict = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/era-strict-v2.ts'])
    const directStrict = await measureModern(strict.url)
    const gatewayStrict = await startGateway(strict.url)
    const gatewayStrictModern = await measureSdk(gatewayStrict, '2026')
    const gatewayStrictLegacy = await measureSdk(gatewayStrict)

    const cpu = (s: CallStats | undefined) => (s?.serverCpuMsPerKCall === undefined ? '—' : fmt(s.serverCpuMsPerKCall, 0))
    out('## Gateway: tools/call direct vs through the gateway, and vs other stdio proxies')
    out()
    out('With an SDK v2 client (sequential calls for the median, then 50 callers; one path after the other):')
    out()
    out('| path | median ms | p99 ms | calls/s (50 callers) | median × direct HTTP | throughput × direct HTTP | proxy CPU ms / 1000 calls |')
    out('| --- | --- | --- | --- | --- | --- | --- |')
    out(`${row('direct Streamable HTTP to the airmcp server', sdk.get(direct)!)} — |`)
    for (const [label, target] of paths) out(`${row(label, sdk.get(target)!, sdk.get(direct))} ${cpu(sdk.get(target))} |`)
    out(`${row('2026 client → gateway → Streamable HTTP upstream (2026)', modernViaGateway, sdk.get(direct))} ${cpu(modernViaGateway)} |`)
    out()
    out(
      `With the lean load generator (test/bench/lean-http.ts: raw JSON-RPC on kept-alive sockets, 2025-11-25 session; sequential calls for the median, then 50 in flight), the paths in turns, ${LEAN_ROUNDS} rounds, the median round of each:`,
    )
    out()
    out('| path | median ms | calls/s (50 in flight) | throughput × direct HTTP | proxy CPU µs / call |')
    out('| --- | --- | --- | --- | --- |')
    const leanOf = (target: Target) => lean[[direct, ...paths.map(([, t]) => t)].indexOf(target)]
    const leanRow = (label: string, s: CallStats) =>
      out(`| ${label} | ${fmt(s.medianMs)} | ${fmt(s.callsPerSecond, 0)} | ${fmt(s.callsPerSecond / leanOf(direct).callsPerSecond)} | ${cpu(s)} |`)
    leanRow('direct Streamable HTTP to the airmcp server (server CPU)', leanOf(direct))
    for (const [label, target] of paths) leanRow(label, leanOf(target))
    out()
    out('| path (strict SDK v2 upstream, `legacy: \'reject\'`) | median ms | p99 ms | calls/s (50 callers) | median × direct | throughput × direct |')
    out('| --- | --- | --- | --- | --- | --- |')
    out(row('direct, 2026 client', directStrict))
    out(row('2026 client → gateway → strict upstream', gatewayStrictModern, directStrict))
    out(row('2025 client → gateway → strict upstream', gatewayStrictLegacy, directStrict))
    out()
    out(`Latency with the paths measured in turns, one call each per round (SDK v2 clients, one machine state for all; ${LATENCY_RUNS} runs of 1000 rounds, the median run of each path and the median of the runs' ratios):`)
    out()
    out('| path | median ms | median × direct |')
    out('| --- | --- | --- |')
    for (const { label, median, ratio } of latency) out(`| ${label} | ${fmt(median, 3)} | ${fmt(ratio)} |`)
    out()
    const ratio = (a: CallStats, b: CallStats, key: 'medianMs' | 'callsPerSecond') => fmt(a[key] / b[key])
    const bestProxy = leanOf(supergateway).callsPerSecond >= leanOf(mcpProxy).callsPerSecond ? supergateway : mcpProxy
    const sdkBest = Math.max(sdk.get(supergateway)!.callsPerSecond, sdk.get(mcpProxy)!.callsPerSecond)
    out(
      `2026-07-28 client (SDK v2, pinned) through the gateway (Streamable HTTP upstream) median × the same client direct, in turns: ${fmt(modernLatency[1].ratio)} (target ≤ 1.4; ${fmt(modernLatency[0].median, 3)} → ${fmt(modernLatency[1].median, 3)} ms); throughput with 50 callers × direct: ${ratio(modernViaGateway, modernDirect, 'callsPerSecond')} (target ≥ 0.7)`,
    )
    out(`Gateway (Streamable HTTP upstream) median × direct, in turns: ${fmt(latency[1].ratio)} (target ≤ 1.4); measured apart, as in the first table: ${ratio(sdk.get(gatewayHttp)!, sdk.get(direct)!, 'medianMs')}`)
    out(`Gateway (Streamable HTTP upstream, 2025 pinned) median × direct, in turns: ${fmt(latency[2].ratio)}; measured apart: ${ratio(sdk.get(gatewayHttpLegacy)!, sdk.get(direct)!, 'medianMs')}`)
    out(`Gateway (stdio upstream) throughput × best of supergateway / mcp-proxy, lean load generator in turns: ${ratio(leanOf(gatewayStdio), leanOf(bestProxy), 'callsPerSecond')} (target ≥ 1.5)`)
    out(`Gateway (stdio upstream) throughput × supergateway --stateful: ${ratio(leanOf(gatewayStdio), leanOf(supergateway), 'callsPerSecond')}; × mcp-proxy: ${ratio(leanOf(gatewayStdio), leanOf(mcpProxy), 'callsPerSecond')} (lean load generator)`)
    out(`The same with the SDK client as load generator (its own CPU is the ceiling): ${fmt(sdk.get(gatewayStdio)!.callsPerSecond / sdkBest)}`)
    // The proxy's own CPU per call says how many calls a core of it can carry, whatever drives it.
    const leanestProxyCpu = Math.min(leanOf(supergateway).serverCpuMsPerKCall ?? NaN, leanOf(mcpProxy).serverCpuMsPerKCall ?? NaN)
    out(`Gateway (stdio upstream) calls per CPU-second × the leaner of supergateway / mcp-proxy: ${fmt(leanestProxyCpu / (leanOf(gatewayStdio).serverCpuMsPerKCall ?? NaN))}`)
    out(`The extra hop alone (the do-nothing relay) costs ${fmt(latency[3].ratio)}× direct (in turns); the gateway's own work is the rest: ${fmt(latency[2].ratio / latency[3].ratio)}× the relay (2025 pinned).`)
    out(`An HTTP hop of the gateway's own parts costs ${fmt(latency[4].ratio)}× direct; its MCP work on top: ${fmt(latency[2].ratio / latency[4].ratio)}× that hop (2025 pinned).`)
    out()
  } finally {
    stopProxies()
    await killAll()
  }
}

/**
 * Metrics on vs off (tracing off), and tracing on to a local OTLP receiver, through the gateway to a stdio
 * upstream. The three set-ups run in turns, several rounds, and each keeps its median: on a shared
 * machine that cancels most of the drift between runs.
 */
/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * The gateway's throughput and its own CPU time per call: on a shared machine the CPU a call costs the
 * gateway is steadier than wall-clock throughput, and it is what the telemetry adds to.
 */
async function gatewayCost(env: NodeJS.ProcessEnv): Promise<CallStats & { cpuUsPerCall: number }> {
  const gateway = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-gateway.ts'], { env: { UPSTREAM: 'stdio', ...env } })
  const client = await connectClient('http', gateway.url)
  let calls = 0
  const callTool = client.callTool.bind(client)
  client.callTool = ((...args: Parameters<typeof callTool>) => (calls++, callTool(...args))) as typeof client.callTool
  const before = cpuSeconds(gateway.child.pid!)
  const stats = await measureCalls(client)
  const cpuUsPerCall = ((cpuSeconds(gateway.child.pid!) - before) * 1e6) / calls
  return { ...stats, cpuUsPerCall }
}

async function telemetrySection() {
  const receiver = await startOtlpReceiver()
  const setups = {
    off: { METRICS: '0' },
    metrics: { METRICS: '1' },
    traced: { METRICS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: 'bench' },
  }
  const runs: Record<keyof typeof setups, (CallStats & { cpuUsPerCall: number })[]> = { off: [], metrics: [], traced: [] }
  for (let round = 0; round < 5; round++) {
    for (const name of Object.keys(setups) as (keyof typeof setups)[]) {
      runs[name].push(await gatewayCost(setups[name]))
      await closeClients()
      await killAll()
    }
  }
  await receiver.close()
  type Run = (typeof runs)['off'][number]
  const median = (stats: Run[], key: keyof Run) => [...stats.map((s) => s[key])].sort((a, b) => a - b)[Math.floor(stats.length / 2)]
  const summary = (name: keyof typeof setups): Run => ({
    medianMs: median(runs[name], 'medianMs'),
    p99Ms: median(runs[name], 'p99Ms'),
    callsPerSecond: median(runs[name], 'callsPerSecond'),
    cpuUsPerCall: median(runs[name], 'cpuUsPerCall'),
  })
  const off = summary('off')
  const line = (label: string, s: Run) =>
    `| ${label} | ${fmt(s.medianMs)} | ${fmt(s.p99Ms)} | ${fmt(s.callsPerSecond, 0)} | ${fmt(s.callsPerSecond / off.callsPerSecond)} | ${fmt(s.cpuUsPerCall, 0)} | ${fmt(s.cpuUsPerCall / off.cpuUsPerCall)} |`
  out('## Telemetry: gateway → stdio upstream, metrics and tracing on vs off (median of 5 interleaved rounds)')
  out()
  out('| gateway | median ms | p99 ms | calls/s (50 callers) | throughput × off | gateway CPU µs/call | CPU × off |')
  out('| --- | --- | --- | --- | --- | --- | --- |')
  out(line('metrics off, tracing off', off))
  out(line('metrics on (`/metrics`), tracing off', summary('metrics')))
  out(line('metrics on, tracing on (OTLP/HTTP to a local receiver, gateway and upstream)', summary('traced')))
  out()
  out(`Spans received: ${receiver.spans.length}. Target: metrics on within 3% of off (throughput ≥ 0.97×, CPU per call ≤ 1.03×); tracing overhead reported.`)
  out(`Load average during the run: ${loadavg()[1].toFixed(1)} on ${cpus().length} cores; throughput swings with other load, the gateway's CPU per call much less.`)
  out()
}

/** A section run on its own replaces its part of RESULTS.md (or is appended to it). */
function replaceSection(heading: string, section: string[]): void {
  const file = join(ROOT, 'test/bench/RESULTS.md')
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const start = text.indexOf(heading)
  const end = start < 0 ? -1 : text.indexOf('\n## ', start + heading.length)
  const body = `${section.join('\n')}\n`
  const next = start < 0 ? `${text.trimEnd()}\n\n${body}` : `${text.slice(0, start)}${body}${end < 0 ? '' : text.slice(end + 1)}`
  writeFileSync(file, next)
}

const only = process.argv[2]
out(`# airmcp benchmarks`)
out()
out(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}; ${new Date().toISOString().slice(0, 10)}.`)
out()
if (!only || only === 'cli') await cliSection()
for (const [name, heading, section] of [
  ['runtime', '## Runtime: tools/call', runtimeSection],
  ['protocol', '## Runtime, 2026-07-28', protocolSection],
] as const) {
  if (only && only !== name) continue
  const from = lines.length
  await section()
  if (only) replaceSection(heading, lines.slice(from))
}
if (!only || only === 'gateway') {
  const from = lines.length
  await gatewaySection()
  if (only) replaceSection('## Gateway: tools/call', lines.slice(from))
}
if (!only || only === 'discovery') await discoverySection(out)
if (!only || only === 'telemetry') {
  const from = lines.length
  await telemetrySection()
  if (only) replaceSection('## Telemetry', lines.slice(from))
}
if (!only || only === 'apps') await appsSection(out)
if (!only || only === 'tasks') {
  const from = lines.length
  await tasksSection(out)
  await killAll()
  if (only) replaceSection('## Tasks', lines.slice(from))
}
if (!only || only === 'auth') {
  const from = lines.length
  await authSection(out)
  await killAll()
  if (only) replaceSection('## Gateway: identity', lines.slice(from))
  const upstream = lines.length
  await upstreamAuthSection(out)
  if (only) replaceSection('## Gateway: upstream authorization', lines.slice(upstream))
}
if (!only || only === 'memory') {
  const from = lines.length
  await memorySection(out)
  if (only) replaceSection('## Memory', lines.slice(from))
}
if (!only || only === 'soak') await soakSection(out)
if (!only) writeFileSync(join(ROOT, 'test/bench/RESULTS.md'), `${lines.join('\n')}\n`)
// `npm run bench discovery` appends its section to the results rather than replacing them.
if (only === 'discovery') appendFileSync(join(ROOT, 'test/bench/RESULTS.md'), `${lines.slice(4).join('\n')}\n`)
process.exit(0)
