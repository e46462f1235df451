import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
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
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, AIRMCP_PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    stopChild = () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
    const url = await new Promise<string>((resolve, reject) => {
      let output = ''
      createInterface({ input: child.stderr! }).on('line', (line) => {
        output += `${line}\n`
        const match = /listening on (http:\/\/[^\s"]+)/.exec(line)
        if (match) resolve(match[1])
      })
      child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${output}`)))
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
