import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { request } from 'node:http'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { defineServer, defineTool } from 'airmcp'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const FIXTURE = 'fixtures/servers/kitchen-sink.ts'

/**
 * POSTs 10 MB in 1 MB chunks (with a content-length, or chunked) and stops sending once the server answers;
 * resolves with the status. A server that hangs up without answering fails the test (no status).
 */
function postHuge(url: string, headers: Record<string, string>, declareLength: boolean): Promise<number> {
  const total = 10 * 1024 * 1024
  const chunk = Buffer.alloc(1024 * 1024, 'a')
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, ...(declareLength ? { 'content-length': String(total) } : {}) } })
    let answered = false
    req.on('response', (res) => {
      answered = true
      res.resume()
      resolve(res.statusCode!)
    })
    // Writes after the answer may fail with EPIPE/ECONNRESET: that is the server closing, not a missing answer.
    req.on('error', (error) => setImmediate(() => answered || reject(error)))
    let sent = 0
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length
        if (!req.write(chunk)) return req.once('drain', pump)
      }
      if (!answered) req.end()
    }
    pump()
  })
}

describe('definitions refuse bad input with the name in the message', () => {
  it('an unknown param type', () => {
    expect(() => defineTool('t', { params: { q: { type: 'strng' as never } }, handler: () => 1 })).toThrow(
      /Tool "t": param "q": unknown param type "strng"\. Try this: one of string, number/,
    )
  })
  it('an invalid tool name', () => {
    expect(() => defineTool('bad name!', { handler: () => 1 })).toThrow(/Invalid tool name "bad name!"/)
  })
  it('a duplicate tool', () => {
    const tool = defineTool('same', { handler: () => 1 })
    expect(() => defineServer({ name: 's', version: '1', transport: { type: 'stdio' }, tools: [tool, tool] })).toThrow(
      /Duplicate tool "same"/,
    )
  })
  it('keeps unknown options such as layer as metadata', () => {
    expect(defineTool('x', { layer: 4, owner: 'me', handler: () => 1 }).meta).toEqual({ layer: 4, owner: 'me' })
  })
})

describe('HTTP transports answer bad requests cleanly and keep serving', () => {
  afterAll(async () => {
    await closeClients()
    await killAll()
  })

  it('a malformed body, a 10 MB body and an unknown session', async () => {
    const { url } = await startListening([...TSX_NODE_ARGS, FIXTURE], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0' } })
    const client = await connectClient('http', url)
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
    const malformed = await fetch(url, { method: 'POST', headers, body: '{"jsonrpc": "2.0", "method": ' })
    expect(malformed.status).toBe(400)
    expect((await malformed.json()).error).toMatchObject({ code: -32700 })
    // Over the 4 MB cap, declared up front or streamed without a length: a 413 either way, before the body ends.
    expect(await postHuge(url, headers, true)).toBe(413)
    expect(await postHuge(url, headers, false)).toBe(413)
    const unknown = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(unknown.status).toBe(404)
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still serving' } }))).toBe('still serving')
  })

  it('a port in use: a clear error and a non-zero exit', async () => {
    const blocker = createServer().listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    const port = (blocker.address() as AddressInfo).port
    const child = spawn(process.execPath, [...TSX_NODE_ARGS, FIXTURE], {
      cwd: ROOT,
      env: { ...process.env, TRANSPORT: 'sse', AIRMCP_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    const [code] = await once(child, 'exit')
    blocker.close()
    expect(code).not.toBe(0)
    expect(stderr).toContain(`port ${port} on 127.0.0.1 is already in use`)
  })
})

describe('stdio keeps stdout for JSON-RPC', () => {
  it('500 calls, including one that console.logs, leave 0 lines on stdout that are not JSON-RPC', async () => {
    const child = spawn(process.execPath, [...TSX_NODE_ARGS, FIXTURE], {
      cwd: ROOT,
      env: { ...process.env, TRANSPORT: 'stdio' },
      stdio: ['pipe', 'pipe', 'ignore'],
    })
    const lines: string[] = []
    const done = new Promise<void>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line)
        if (lines.filter((l) => l.includes('"id":500')).length) resolve()
      })
    })
    const send = (message: object) => child.stdin!.write(`${JSON.stringify(message)}\n`)
    send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } })
    send({ jsonrpc: '2.0', method: 'notifications/initialized' })
    for (let id = 1; id <= 500; id++) {
      send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: id % 2 ? 'chatty' : 'echo', arguments: { text: `${id}` } } })
    }
    await done
    child.stdin!.end()
    await once(child, 'exit')
    const notJsonRpc = lines.filter((line) => {
      try {
        return JSON.parse(line).jsonrpc !== '2.0'
      } catch {
        return true
      }
    })
    expect(notJsonRpc).toEqual([])
    expect(lines.length).toBe(501)
  })
})
