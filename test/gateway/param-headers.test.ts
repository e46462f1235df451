// A 2026 upstream whose tool declares `x-mcp-header` arguments checks that each request mirrors them in
// `Mcp-Param-*` headers: the gateway, which speaks 2026 to it, must send them like any 2026 client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Gateway } from 'airmcp/gateway'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

let gateway: Gateway

beforeAll(async () => {
  const upstream = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'], { env: { TRANSPORT: 'http' } })
  gateway = new Gateway({ name: 'param-headers', port: 0, handleSignals: false, connectTimeout: 30_000 })
  gateway.register({ id: 'sink-1', name: 'sink', connection: { type: 'http', url: upstream.url } })
  await gateway.start()
  for (let checks = 0; checks < 600 && gateway.list()[0]?.status !== 'connected'; checks++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  expect(gateway.list()[0]).toMatchObject({ status: 'connected', protocolVersion: '2026-07-28' })
}, 60_000)

afterAll(async () => {
  await gateway?.stop()
  await killAll()
})

describe.each(['2025-11-25', '2026-07-28'] as const)('a %s client', (revision) => {
  it('calls a tool with a header-mirrored argument through the gateway, plain and Base64-wrapped values alike', async () => {
    const client = new Client(
      { name: 'param-headers', version: '1.0.0' },
      revision === '2026-07-28' ? { versionNegotiation: { mode: { pin: revision } } } : {},
    )
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url!)))
    try {
      for (const city of ['Paris', 'Zürich', ' Spaced ']) {
        const result = await client.callTool({ name: 'weather', arguments: { city } })
        expect(result.isError, JSON.stringify(result)).toBeFalsy()
        expect(result.content).toEqual([{ type: 'text', text: `Sunny in ${city}` }])
      }
    } finally {
      await client.close()
    }
  })
})
