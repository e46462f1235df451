// A lean stdio load generator (2025-11-25 session): raw newline-delimited JSON-RPC on a child's pipes, no SDK
// client. An SDK client spends more CPU per call than a lean stdio server does, so with it a stdio benchmark
// measures the client; this one costs a JSON.stringify and a JSON.parse per call.
import { spawn } from 'node:child_process'
import { measureCalls, type CallStats } from './measure.js'

type Answer = { id?: number; result?: { content?: { text?: string }[]; isError?: boolean } }

/**
 * Starts `node <args>` (a stdio MCP server), opens a 2025-11-25 session with `initialize`, and returns a
 * function making one checked `echo` call on it (the echoed text and no `isError`, or it throws).
 */
export async function leanStdioSession(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'ignore'] })
  const waiting = new Map<number, (answer: Answer) => void>()
  let buffer = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk
    let newline = buffer.indexOf('\n')
    while (newline >= 0) {
      const answer = JSON.parse(buffer.slice(0, newline)) as Answer
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf('\n')
      const resolve = waiting.get(answer.id as number)
      waiting.delete(answer.id as number)
      resolve?.(answer)
    }
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.once('exit', () => {
    for (const resolve of waiting.values()) resolve({})
  })

  let nextId = 0
  const request = (method: string, params: Record<string, unknown>) =>
    new Promise<Answer>((resolve) => {
      const id = nextId++
      waiting.set(id, resolve)
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`)
    })
  const call = async () => {
    const answer = await request('tools/call', { name: 'echo', arguments: { text: 'hello' } })
    if (answer.result?.content?.[0]?.text !== 'hello' || answer.result.isError) throw new Error(`bad answer: ${JSON.stringify(answer).slice(0, 200)}`)
  }
  const close = async () => {
    // Closing stdin is how a stdio server is told to go; one that does not is killed.
    child.stdin!.end()
    const force = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(force)
  }
  // A failed handshake shows in the first call's answer.
  await request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'lean-bench', version: '1.0.0' } })
  child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`)
  return { call, close, pid: child.pid }
}

/** measureCalls (sequential calls, then 50 callers) driven by the lean generator, with the server's CPU per call. */
export async function measureLeanStdio(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CallStats> {
  const { call, close, pid } = await leanStdioSession(args, options)
  try {
    return await measureCalls({ callTool: call }, undefined, pid)
  } finally {
    await close()
  }
}
