// A lean stdio load generator: raw newline-delimited JSON-RPC over a child's pipes, no SDK client. The SDK
// v2 client spends more CPU per call than a lean server does, so with it a stdio benchmark measures the
// client; this one costs a JSON.stringify and a JSON.parse per call.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { CallStats } from './measure.js'

export interface LeanOptions {
  warmup: number
  samples: number
  /** Requests kept in flight during the throughput phase. */
  concurrency: number
  durationMs: number
}

const DEFAULTS: LeanOptions = { warmup: 1000, samples: 1000, concurrency: 50, durationMs: 3000 }

/** CPU time a process has used so far, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]
}

/**
 * Starts `node <args>` (a stdio MCP server), opens a 2025-11-25 session with `initialize`, then measures
 * `tools/call echo { text: 'hello' }` like `measureCalls`: sequential calls for latency, then
 * `concurrency` requests in flight for throughput. Only correct answers (the echoed text, no `isError`)
 * count; anything else fails the run.
 */
export async function measureLeanStdio(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }, lean: LeanOptions = DEFAULTS): Promise<CallStats> {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'ignore'] })
  const waiting = new Map<number, (message: Record<string, unknown>) => void>()
  let failure: Error | undefined
  let buffer = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk
    let newline = buffer.indexOf('\n')
    while (newline >= 0) {
      const message = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf('\n')
      const resolve = waiting.get(message.id as number)
      if (resolve) {
        waiting.delete(message.id as number)
        resolve(message)
      }
    }
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.once('exit', (code) => {
    failure ??= new Error(`the server exited (${code}) during the run`)
    for (const resolve of waiting.values()) resolve({})
  })

  let nextId = 0
  const request = (method: string, params: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = nextId++
      waiting.set(id, resolve)
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`)
    })
  const call = async () => {
    const answer = await request('tools/call', { name: 'echo', arguments: { text: 'hello' } })
    const result = answer.result as { content?: { text?: string }[]; isError?: boolean } | undefined
    if (result?.content?.[0]?.text !== 'hello' || result.isError) {
      failure ??= new Error(`unexpected answer: ${JSON.stringify(answer).slice(0, 200)}`)
      throw failure
    }
  }

  try {
    await request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'lean-bench', version: '1.0.0' } })
    child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`)
    for (let i = 0; i < lean.warmup; i++) await call()
    const times: number[] = []
    for (let i = 0; i < lean.samples; i++) {
      const started = performance.now()
      await call()
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    let completed = 0
    const cpuBefore = cpuMsOf(child.pid!)
    const started = performance.now()
    const until = started + lean.durationMs
    await Promise.all(
      Array.from({ length: lean.concurrency }, async () => {
        while (performance.now() < until) {
          await call()
          completed++
        }
      }),
    )
    const elapsed = (performance.now() - started) / 1000
    const cpu = cpuMsOf(child.pid!) - cpuBefore
    return {
      medianMs: percentile(times, 0.5),
      p99Ms: percentile(times, 0.99),
      callsPerSecond: completed / elapsed,
      serverCpuMsPerKCall: (cpu / completed) * 1000,
    }
  } finally {
    // Closing stdin is how a stdio server is told to go; one that does not is killed.
    child.stdin!.end()
    const force = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(force)
  }
}
