import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client'
import { parseJsonRpcLine } from '../../http/jsonrpc.js'
import { forwardChildLine } from '../../telemetry/log.js'
import { childEnvironment } from '../../config/environment.js'
import { RESULT_TOO_LARGE, UpstreamTransportError } from '../errors.js'
import { LineReader, responseIdOf, type OversizedLine } from './line-reader.js'

export interface ChildOptions {
  /** Names the child in forwarded stderr lines. */
  label: string
  command: string
  args: string[]
  env?: Record<string, string>
  cwd: string
  /** Longest stdout line kept (default 8 MiB); a longer one fails the call it answers, never the gateway. */
  maxLineBytes?: number
}

/** Longest stderr line of a child forwarded whole; a longer one is cut to its start, and reading goes on. */
export const MAX_STDERR_LINE_BYTES = 16 * 1024

const PATH_LIKE = /^\.\.?[\\/]|[\\/].*\.[cm]?[jt]s$/

/**
 * Picks the directory a child's relative paths are meant from. The seed writes
 * `args: ['../servers/analytics/dist/index.js']` relative to `gateway/`, so besides the working directory
 * the gateway script's own folder and its parents are tried; the first where every path exists wins.
 */
export function resolveChildCwd(args: string[], explicitCwd?: string, entry = process.argv[1]): string {
  if (explicitCwd) return resolve(explicitCwd)
  const paths = args.filter((arg) => PATH_LIKE.test(arg) && !isAbsolute(arg))
  if (paths.length === 0) return process.cwd()
  const candidates = [process.cwd()]
  for (let dir = entry ? dirname(resolve(entry)) : ''; dir && candidates.length < 6; dir = dirname(dir)) {
    candidates.push(dir)
    if (dirname(dir) === dir) break
  }
  const base = candidates.find((dir) => paths.every((p) => existsSync(resolve(dir, p))))
  if (!base) {
    throw new Error(
      `Cannot find ${paths.map((p) => `"${p}"`).join(', ')} from ${[...new Set(candidates)].join(' or ')}. ` +
        'Try this: build the server first (npm run build), or give connection.cwd.',
    )
  }
  return base
}

/** An MCP client transport over a child's stdio; the child leads its own process group so stop() leaves no orphans. */
export class ChildProcessTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  private child?: ChildProcess
  private readonly reader: LineReader<Buffer>

  constructor(private readonly options: ChildOptions) {
    // Stdout lines are parsed from their bytes: a large answer's long strings are kept as they came (long-strings.ts).
    this.reader = new LineReader(options.maxLineBytes ?? 8 * 1024 * 1024, (line) => this.readLine(line), (line) => this.dropOversized(line), (line) => line)
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  start(): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.options.command, this.options.args, {
        cwd: this.options.cwd,
        env: childEnvironment(this.options.env),
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        detached: process.platform !== 'win32',
        windowsHide: true,
      })
      this.child = child
      child.once('error', (error: NodeJS.ErrnoException) => {
        const message =
          error.code === 'ENOENT'
            ? `Cannot start "${this.options.command}": command not found. Try this: use an absolute path or fix PATH.`
            : error.message
        reject(new Error(message))
        this.onerror?.(new Error(message))
      })
      child.once('spawn', () => resolvePromise())
      child.once('exit', () => {
        this.child = undefined
        this.onclose?.()
      })
      child.stdin!.on('error', (error) => this.onerror?.(error))
      child.stdout!.on('data', (chunk: Buffer) => this.reader.push(chunk))
      // Bounded like stdout: a child writing gigabytes without a newline costs the gateway 16 KiB, not its life.
      const stderr = new LineReader(
        MAX_STDERR_LINE_BYTES,
        (line) => forwardChildLine(this.options.label, line),
        (line) => forwardChildLine(this.options.label, `${line.head}… (a stderr line of ${line.bytes} bytes, cut)`),
      )
      child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk))
    })
  }

  private readLine(line: Buffer): void {
    const message = parseJsonRpcLine(line)
    if (!message) {
      // Stray stdout (a console.log in the server) is not MCP; it is reported, the connection goes on.
      this.onerror?.(new Error(`${this.options.label}: ignored a stdout line that is not JSON-RPC (${line.length} bytes)`))
      return
    }
    this.onmessage?.(message as JSONRPCMessage)
  }

  /** A line over the cap: the call it answers gets a clear error at once; anything else is dropped. */
  private dropOversized(line: OversizedLine): void {
    const limit = this.options.maxLineBytes ?? 8 * 1024 * 1024
    const id = responseIdOf(line)
    const text = `${this.options.label} sent a message of ${line.bytes} bytes, over the ${limit}-byte limit`
    if (id === undefined) {
      this.onerror?.(new Error(`${text}; it was dropped.`))
      return
    }
    this.onmessage?.({
      jsonrpc: '2.0',
      id,
      error: { code: RESULT_TOO_LARGE, message: `${text}. Try this: ask for less, or raise the gateway's maxResultBytes.` },
    })
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const stdin = this.child?.stdin
      if (!stdin?.writable) return reject(new UpstreamTransportError(`${this.options.label}: the child process is not running`))
      // Messages sent in the same turn (many clients' calls at once) go to the pipe in one write, not one each.
      if (!stdin.writableCorked) {
        stdin.cork()
        process.nextTick(() => stdin.uncork())
      }
      if (stdin.write(`${JSON.stringify(message)}\n`)) resolvePromise()
      else stdin.once('drain', resolvePromise)
    })
  }

  /** Ends the child: stdin closed and SIGTERM to its group, SIGKILL if it is still there after 2 s. */
  async close(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null) return
    const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()))
    child.stdin?.end()
    signalGroup(child, 'SIGTERM')
    const force = setTimeout(() => signalGroup(child, 'SIGKILL'), 2000)
    await exited
    clearTimeout(force)
    // Grandchildren that outlived their parent go too.
    signalGroup(child, 'SIGKILL')
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (process.platform !== 'win32' && child.pid) process.kill(-child.pid, signal)
    else child.kill(signal)
  } catch {
    // Already gone.
  }
}
