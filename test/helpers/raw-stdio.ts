import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { ROOT, TSX_NODE_ARGS } from './processes.js'

export type Message = { jsonrpc: '2.0'; id?: string | number; method?: string; params?: any; result?: any; error?: any }

/**
 * A client (2025-11-25 session, or 2026-07-28 requests) written as raw newline-delimited JSON-RPC on a stdio server's pipes: every byte the
 * server writes is kept in order, so a test can assert exactly what went on the wire (and what did not).
 */
export class RawStdioSession {
  /** Everything the server wrote, in order. */
  readonly received: Message[] = []
  private readonly waiters = new Set<() => void>()
  private readonly answers = new Map<string, (params: any) => unknown>()
  private nextId = 1

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as Message
      this.received.push(message)
      const answer = message.method !== undefined && message.id !== undefined ? this.answers.get(message.method) : undefined
      if (answer) this.write({ jsonrpc: '2.0', id: message.id, result: answer(message.params) })
      for (const wake of this.waiters) wake()
    })
    child.once('exit', () => {
      for (const wake of this.waiters) wake()
    })
  }

  /** Starts `fixture` over stdio with no handshake (a 2026-07-28 client sends its envelope with every request). */
  static start(fixture: string): RawStdioSession {
    const child = spawn(process.execPath, [...TSX_NODE_ARGS, fixture], {
      cwd: ROOT,
      env: { ...process.env, TRANSPORT: 'stdio' },
      stdio: ['pipe', 'pipe', 'ignore'],
    })
    return new RawStdioSession(child)
  }

  /** Starts `fixture` over stdio and completes the 2025 handshake declaring `capabilities`. */
  static async open(fixture: string, capabilities: Record<string, unknown> = {}): Promise<RawStdioSession> {
    const session = RawStdioSession.start(fixture)
    const init = await session.request('initialize', { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'raw', version: '1.0.0' } })
    if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init)}`)
    session.write({ jsonrpc: '2.0', method: 'notifications/initialized' })
    return session
  }

  write(message: Message): void {
    this.child.stdin!.write(`${JSON.stringify(message)}\n`)
  }

  /** A fresh request id, never reused in this session. */
  id(): number {
    return this.nextId++
  }

  /** Sends a request and resolves with its response. */
  request(method: string, params: Record<string, unknown>, id: string | number = this.id()): Promise<Message> {
    const from = this.received.length
    this.write({ jsonrpc: '2.0', id, method, params })
    return this.waitFor((m) => m.id === id && m.method === undefined, from)
  }

  /** Answers the server's requests of `method` (elicitation/create, sampling/createMessage, roots/list) with `answer`. */
  answer(method: string, answer: (params: any) => unknown): void {
    this.answers.set(method, answer)
  }

  /** The first message from index `from` on that matches, as soon as it arrives. */
  waitFor(matches: (message: Message) => boolean, from = 0): Promise<Message> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.slice(from).find(matches)
        if (found) {
          this.waiters.delete(check)
          resolve(found)
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.waiters.delete(check)
          reject(new Error('the server exited'))
        }
      }
      this.waiters.add(check)
      check()
    })
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.stdin!.end()
    this.child.kill('SIGTERM')
    await exited
  }
}
