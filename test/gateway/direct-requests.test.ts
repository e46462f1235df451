// Forwarded requests skip the SDK client's protocol layer (src/gateway/direct-requests.ts): against a real
// server over each transport the gateway owns, they must keep what the SDK gave them: results as sent,
// progress, the server's errors, cancellation, timeouts, a closed connection, and the SDK's own traffic
// on the same connection.
import { afterAll, describe, expect, it } from 'vitest'
import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client'
import { classifyFailure } from '../../src/gateway/errors.js'
import { Upstream, type UpstreamEvents } from '../../src/gateway/upstreams/upstream.js'
import { isTimeoutError } from '../../src/gateway/upstreams/upstream-health.js'
import type { Registration } from '../../src/gateway/types.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const events: UpstreamEvents = {
  listChanged: () => {},
  statusChanged: () => {},
  log: () => {},
  resourceUpdated: () => {},
  clientRequest: () => Promise.reject(new Error('no client here')),
}
const timing = { connectTimeout: 30_000, reconnectDelay: 60_000, unhealthyThreshold: 1 }
const started: Upstream[] = []

afterAll(async () => {
  await Promise.allSettled(started.map((u) => u.stop()))
  await killAll()
})

async function connected(registration: Omit<Registration, 'id' | 'name'>): Promise<Upstream> {
  const upstream = new Upstream({ id: 'sink-1', name: 'sink', ...registration } as Registration, events, timing)
  started.push(upstream)
  await upstream.connect()
  expect(upstream.status, upstream.lastError).toBe('connected')
  return upstream
}

const text = (result: Record<string, unknown>) => (result.content as { text: string }[])[0].text

describe.each([
  ['stdio, 2026-07-28', async () => connected({ connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'] } }), '2026-07-28'],
  [
    'Streamable HTTP, 2026-07-28',
    async () => {
      const server = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'], { env: { TRANSPORT: 'http' } })
      return connected({ connection: { type: 'http', url: server.url } })
    },
    '2026-07-28',
  ],
  [
    'Streamable HTTP, 2025-11-25',
    async () => {
      const server = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/kitchen-sink.ts'], { env: { TRANSPORT: 'http' } })
      return connected({ connection: { type: 'http', url: server.url }, protocol: '2025-11-25' })
    },
    '2025-11-25',
  ],
] as const)('a forwarded request over %s', (_label, start, revision) => {
  let upstream: Upstream
  const options = { timeout: 30_000 }

  it('is spoken in the revision the probe found, and answered as the server sent it', async () => {
    upstream = await start()
    expect(upstream.protocolVersion).toBe(revision)
    const result = await upstream.request('tools/call', { name: 'echo', arguments: { text: 'hi' } }, options)
    expect(text(result)).toBe('hi')
  }, 60_000)

  it('reports progress to its caller, then resolves', async () => {
    const progress: number[] = []
    const result = await upstream.request('tools/call', { name: 'progress', arguments: { steps: 3 } }, {
      ...options,
      onprogress: (p) => progress.push(p.progress),
    })
    expect(text(result)).toBe('done')
    expect(progress).toEqual([1, 2, 3])
  })

  it("rejects with the server's own JSON-RPC error, a request failure that leaves the member in its pool", async () => {
    const error = await upstream.request('prompts/get', { name: 'no-such-prompt' }, options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect(classifyFailure(error)).toBe('request')
  })

  it('is cancelled by its signal, and the connection goes on serving', async () => {
    const controller = new AbortController()
    const pending = upstream.request('tools/call', { name: 'slow', arguments: {} }, { ...options, signal: controller.signal })
    controller.abort('client went away')
    await expect(pending).rejects.toBeInstanceOf(SdkError)
    expect(text(await upstream.request('tools/call', { name: 'echo', arguments: { text: 'after' } }, options))).toBe('after')
  })

  it('fails a request that cannot be serialized at once, as a request failure, and goes on serving', async () => {
    const error = await upstream.request('tools/call', { name: 'echo', arguments: { text: 1n } }, options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect(classifyFailure(error)).toBe('request')
    expect(text(await upstream.request('tools/call', { name: 'echo', arguments: { text: 'next' } }, options))).toBe('next')
  })

  it('times out as the SDK client would (the router reads the same error)', async () => {
    const error = await upstream.request('tools/call', { name: 'slow', arguments: {} }, { timeout: 50 }).catch((e: unknown) => e)
    expect(isTimeoutError(error)).toBe(true)
  })

  it("leaves the SDK client's own requests on the same connection alone", async () => {
    const controller = new AbortController()
    const slow = upstream.request('tools/call', { name: 'slow', arguments: {} }, { ...options, signal: controller.signal })
    await upstream.refresh('tools')
    expect(upstream.tools.map((t) => t.name)).toContain('echo')
    controller.abort()
    await expect(slow).rejects.toBeInstanceOf(SdkError)
  })

  it('fails at once with a transport failure when the connection closes under it', async () => {
    const pending = upstream.request('tools/call', { name: 'slow', arguments: {} }, options).catch((e: unknown) => e)
    await upstream.stop()
    const error = await pending
    expect(classifyFailure(error), String(error)).toBe('transport')
    if (error instanceof SdkError) expect(error.code).toBe(SdkErrorCode.ConnectionClosed)
  })
})
