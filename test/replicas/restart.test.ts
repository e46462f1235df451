import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { freePort, killAll, killProcess, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

/** Clients survive a restart: the bridge and the gateway's upstream clients start a new session and repeat the call. */

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text
// No AIRMCP_SESSION_KEY: each process signs with its own random key, so a restarted one knows no old session.
const env = { AIRMCP_SESSION_KEY: '' }

describe('clients survive a restart', () => {
  afterAll(killAll)

  it('a client through airmcp bridge: the gateway restarted between two calls, both succeed', async () => {
    const upstream = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], { env: { ...env, TRANSPORT: 'http', REPLICA: 'u' } })
    const port = String(await freePort())
    const gatewayArgs = [...TSX_NODE_ARGS, 'fixtures/servers/session-gateway.ts']
    const gatewayEnv = { ...env, UPSTREAM: upstream.url, AIRMCP_GATEWAY_PORT: port }
    let gateway = await startListening(gatewayArgs, { env: gatewayEnv })
    const client = new Client({ name: 'bridged', version: '1.0.0' })
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'bin/run.js'), 'bridge', gateway.url],
      env: { ...process.env, ...env } as Record<string, string>,
      stderr: 'pipe',
    })
    let bridgeErr = ''
    transport.stderr?.on('data', (chunk) => (bridgeErr += String(chunk)))
    await client.connect(transport)
    try {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before')
      await killProcess(gateway.child)
      gateway = await startListening(gatewayArgs, { env: gatewayEnv })
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after')
      expect(bridgeErr).toMatch(/continued in a new one/)
    } finally {
      await client.close()
    }
  }, 60_000)

  it("the gateway's upstream restarted between two calls: both succeed", async () => {
    const upstreamPort = String(await freePort())
    const upstreamArgs = [...TSX_NODE_ARGS, 'fixtures/servers/replica.ts']
    const upstreamEnv = { ...env, TRANSPORT: 'http', REPLICA: 'u', AIRMCP_PORT: upstreamPort }
    let upstream = await startListening(upstreamArgs, { env: upstreamEnv })
    const gateway = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/session-gateway.ts'], { env: { ...env, UPSTREAM: upstream.url } })
    const client = new Client({ name: 'direct', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url)))
    try {
      const firstPid = textOf(await client.callTool({ name: 'pid', arguments: {} }))
      await killProcess(upstream.child)
      upstream = await startListening(upstreamArgs, { env: upstreamEnv })
      const secondPid = textOf(await client.callTool({ name: 'pid', arguments: {} }))
      expect(secondPid).not.toBe(firstPid)
      expect(secondPid).toBe(String(upstream.child.pid))
    } finally {
      await client.close()
    }
  }, 60_000)
})
