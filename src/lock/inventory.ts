import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Client, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import type { ServerInventory } from '../gateway/lock/lock-file.js'

/** A built server to list: its folder (absolute) and how it serves. */
export interface InventoryTarget {
  name: string
  dir: string
  transport: 'stdio' | 'sse' | 'http'
}

const START_TIMEOUT = 30_000

/** Starts an SSE/HTTP server on a free port and resolves with the URL it announces on stderr. */
async function startNetworked(target: InventoryTarget): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['dist/index.js'], {
    cwd: target.dir,
    env: { ...process.env, AIRMCP_PORT: '0', AIRMCP_HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`did not announce its URL within ${START_TIMEOUT / 1000} s`)), START_TIMEOUT)
      createInterface({ input: child.stderr! }).on('line', (line) => {
        stderr += `${line}\n`
        const match = /listening on (http:\/\/[^\s"]+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`exited with ${code} before listening${stderr ? `:\n${stderr.trim()}` : ''}`))
      })
    })
    return { child, url }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
}

/**
 * Starts one built server (stdio: spawned by the client; SSE/HTTP: on a free port), lists its tools,
 * prompts and resource templates with a real MCP client, and stops it.
 */
export async function inventoryServer(target: InventoryTarget): Promise<ServerInventory> {
  let child: ChildProcess | undefined
  const client = new Client({ name: 'airmcp-lock', version: '1' })
  try {
    let transport: Transport
    if (target.transport === 'stdio') {
      transport = new StdioClientTransport({ command: process.execPath, args: [join(target.dir, 'dist/index.js')], cwd: target.dir, stderr: 'ignore' })
    } else {
      const started = await startNetworked(target)
      child = started.child
      transport =
        target.transport === 'sse'
          ? new SSEClientTransport(new URL(started.url))
          : new StreamableHTTPClientTransport(new URL(started.url))
    }
    await client.connect(transport, { timeout: START_TIMEOUT })
    const caps = client.getServerCapabilities() ?? {}
    return {
      // Without a cursor the SDK walks every page, bounded by its listMaxPages (a server paging forever fails).
      tools: caps.tools ? (await client.listTools()).tools : [],
      prompts: caps.prompts ? (await client.listPrompts()).prompts : [],
      resourceTemplates: caps.resources ? (await client.listResourceTemplates()).resourceTemplates : [],
    }
  } catch (error) {
    throw new Error(`Server "${target.name}" (${target.dir}): ${(error as Error).message}`)
  } finally {
    await client.close().catch(() => {})
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const force = setTimeout(() => child!.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(force)
    }
  }
}
