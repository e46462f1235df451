import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { ToolResult } from './tool.js'

/** A real MCP client connected to a server process started for a test. */
export interface TestClient {
  listTools(): Promise<{ name: string; description?: string; inputSchema: Record<string, unknown> }[]>
  callTool(name: string, args?: Record<string, unknown>): Promise<ToolResult>
  close(): Promise<void>
}

/**
 * Starts a built server (`node <entry>`) on an ephemeral port (or over stdio) and connects a real MCP
 * client to it; `close()` ends both.
 * @example
 * const client = await startTestServer('dist/index.js', 'sse')
 * await client.callTool('search', { query: 'hello' })
 */
export async function startTestServer(entry: string, transport: 'stdio' | 'sse' | 'http'): Promise<TestClient> {
  const client = new Client({ name: 'airmcp-test', version: '1' })
  let stopChild = async () => {}
  if (transport === 'stdio') {
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [entry], stderr: 'ignore' }))
  } else {
    // A port from the OS, then readiness from GET /health: no log line is parsed.
    const port = await freePort()
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, AIRMCP_PORT: String(port) },
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
