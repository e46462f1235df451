import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { childEnvironment } from '../config/environment.js'
import type { ToolResult } from './tool.js'

/** A real MCP client connected to a server process started for a test. */
export interface TestClient {
  listTools(): Promise<{ name: string; description?: string; inputSchema: Record<string, unknown> }[]>
  callTool(name: string, args?: Record<string, unknown>): Promise<ToolResult>
  close(): Promise<void>
}

export interface TestServerOptions {
  /**
   * The protocol revision the client speaks: `2025-11-25` (the default, and the only one over SSE) or
   * `2026-07-28` (Streamable HTTP and stdio).
   */
  protocol?: '2025-11-25' | '2026-07-28'
}

/**
 * Starts a built server (`node <entry>`) on an ephemeral port (or over stdio) and connects a real MCP
 * client to it; `close()` ends both.
 * @example
 * const client = await startTestServer('dist/index.js', 'http', { protocol: '2026-07-28' })
 * await client.callTool('search', { query: 'hello' })
 */
export async function startTestServer(
  entry: string,
  transport: 'stdio' | 'sse' | 'http',
  options: TestServerOptions = {},
): Promise<TestClient> {
  const modern = options.protocol === '2026-07-28'
  if (modern && transport === 'sse') {
    throw new TypeError('The legacy SSE transport speaks only 2025-11-25. Try this: transport "http" or "stdio".')
  }
  const client = new Client(
    { name: 'airmcp-test', version: '1' },
    modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  )
  let stopChild = async () => {}
  if (transport === 'stdio') {
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [entry], stderr: 'ignore' }))
  } else {
    // A port from the OS, then readiness from GET /health: no log line is parsed.
    const port = await freePort()
    const child = spawn(process.execPath, [entry], {
      env: childEnvironment({ AIRMCP_PORT: String(port) }),
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let output = ''
    child.stderr!.on('data', (chunk) => (output += chunk))
    stopChild = () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${entry} exited with ${code} before it was ready:\n${output}`))),
    )
    const url = await Promise.race([waitForHealth(`http://127.0.0.1:${port}`), exited]).catch(async (error) => {
      await stopChild()
      throw error
    })
    const target = new URL(url)
    await client.connect(
      transport === 'sse' ? new SSEClientTransport(target) : new StreamableHTTPClientTransport(target),
    )
  }
  return {
    listTools: async () => (await client.listTools()).tools,
    callTool: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as ToolResult,
    async close() {
      await client.close()
      await stopChild()
    },
  }
}

/** A port the OS says is free now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Polls `GET /health` until the server answers; returns its MCP endpoint URL (from the health body). */
async function waitForHealth(base: string, attempts = 600): Promise<string> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const response = await fetch(`${base}/health`)
      if (response.ok) {
        const health = (await response.json()) as { endpoint?: string; transport?: string }
        return `${base}${health.endpoint ?? (health.transport === 'http' ? '/mcp' : '/sse')}`
      }
    } catch {
      // Not listening yet.
    }
    await delay(50)
  }
  throw new Error(`${base}/health did not answer after ${attempts} attempts.`)
}
