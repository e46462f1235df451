import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'

export interface CallStats {
  medianMs: number
  p99Ms: number
  callsPerSecond: number
  /** Server CPU time (user + system, all threads) per 1000 calls of the throughput phase, when its pid is known. */
  serverCpuMsPerKCall?: number
}

/** CPU time a process has used so far, in ms (Linux /proc; clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]
}

/** What measuring needs of a client: SDK v1 and v2 clients both fit. */
export interface CallingClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>
}

/** Sequential calls for latency, then `concurrency` callers for `durationMs` for throughput; bounded in count and time. */
export async function measureCalls(
  client: CallingClient,
  options = { warmup: 1000, samples: 1000, concurrency: 50, durationMs: 3000 },
  serverPid?: number,
): Promise<CallStats> {
  const call = () => client.callTool({ name: 'echo', arguments: { text: 'hello' } })
  for (let i = 0; i < options.warmup; i++) await call()
  const times: number[] = []
  for (let i = 0; i < options.samples; i++) {
    const started = performance.now()
    await call()
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  let completed = 0
  const cpuBefore = serverPid ? cpuMsOf(serverPid) : undefined
  const until = performance.now() + options.durationMs
  const started = performance.now()
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < until) {
        await call()
        completed++
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  const cpuAfter = serverPid ? cpuMsOf(serverPid) : undefined
  const serverCpuMsPerKCall = cpuBefore !== undefined && cpuAfter !== undefined ? ((cpuAfter - cpuBefore) / completed) * 1000 : undefined
  return { medianMs: percentile(times, 0.5), p99Ms: percentile(times, 0.99), callsPerSecond: completed / elapsed, serverCpuMsPerKCall }
}

/**
 * Median latency of sequential calls on several clients measured in turns, one call each per round (the
 * order rotating): on a shared machine every path meets the same load, so their ratios hold when the
 * absolute figures drift. `call` is one request (default: an `echo` tool call).
 */
export async function interleavedMedians<C = CallingClient>(
  clients: C[],
  rounds = 2000,
  warmup = 500,
  call: (client: C) => Promise<unknown> = (client) => (client as CallingClient).callTool({ name: 'echo', arguments: { text: 'hello' } }),
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) for (const client of clients) await call(client)
  const times = clients.map(() => [] as number[])
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < clients.length; k++) {
      const index = (round + k) % clients.length
      const started = performance.now()
      await call(clients[index])
      times[index].push(performance.now() - started)
    }
  }
  return times.map((t) => percentile(t.sort((a, b) => a - b), 0.5))
}

/** Median wall time of a command over `runs` runs. */
export async function medianWallMs(runs: number, run: () => Promise<void>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await run()
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return percentile(times, 0.5)
}

/** Node 20's undici leaves a listener per POST on the transport's shared signal: a warning per call past 1500. */
export const postWithoutSharedSignal: typeof fetch = (url, init) => fetch(url, init?.method === 'POST' ? { ...init, signal: undefined } : init)

export const fmt = (n: number, digits = 2) => n.toFixed(digits)

/**
 * Puts every thread of the measured processes on the same CPU (the last; `taskset`, when installed). Left to
 * the scheduler, identical gateways measured in turns differed by up to 30% in CPU per call, as each landed
 * beside the client or the upstream, or moved; on one CPU they agree within a few percent.
 */
export function pinToOneCpu(pids: number[]): void {
  const cpu = String(cpus().length - 1)
  for (const pid of pids) spawnSync('taskset', ['-a', '-cp', cpu, String(pid)], { stdio: 'ignore' })
}

/**
 * Paths in turns, `runs` times (`warmups[run]` rounds first, then `rounds`): each run, every path's median
 * latency and its process's CPU per call over that run's calls (from /proc), the processes on one CPU.
 */
export async function latencyAndCpuInTurns<C = CallingClient>(
  paths: { pid: number; client: C }[],
  rounds: number,
  warmups: number[],
  call?: (client: C) => Promise<unknown>,
): Promise<{ medianMs: number; cpuUs: number }[][]> {
  const runs: { medianMs: number; cpuUs: number }[][] = []
  pinToOneCpu(paths.map(({ pid }) => pid))
  for (const warmup of warmups) {
    const before = paths.map(({ pid }) => cpuMsOf(pid) ?? NaN)
    const medians = await interleavedMedians(
      paths.map(({ client }) => client),
      rounds,
      warmup,
      call,
    )
    const calls = rounds + warmup
    runs.push(paths.map(({ pid }, i) => ({ medianMs: medians[i], cpuUs: (((cpuMsOf(pid) ?? NaN) - before[i]) * 1000) / calls })))
  }
  return runs
}

/** The middle value (the upper one of an even count). */
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]
