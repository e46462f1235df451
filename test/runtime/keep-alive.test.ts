// A 2026-07-28 tool call that runs longer than a proxy's idle timeout must not look silent: still running at a
// keep-alive tick (keepAliveMs), its answer becomes an SSE stream with comments; a quick call stays one JSON body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineServer, defineTool, type McpServer } from 'airmcp'
import { post2026, readPastKeepAlive, type WireClient } from '../helpers/wire-2026.js'

describe('keep-alive on a 2026-07-28 tool call in the runtime', () => {
  let server: McpServer
  let client: WireClient
  let release = () => {}
  beforeAll(async () => {
    const held = defineTool('held', { handler: () => new Promise<string>((resolve) => (release = () => resolve('released'))) })
    const quick = defineTool('quick', { handler: () => 'quick' })
    server = defineServer({ name: 'keep-alive', version: '1.0.0', transport: { type: 'http', port: 0 }, handleSignals: false, metrics: false, keepAliveMs: 100, tools: [held, quick] })
    await server.start()
    client = { url: server.url!, capabilities: {} }
  })
  afterAll(() => server.stop())

  it.each([
    ['a call', {}],
    ['a call with a progress token (none reported yet)', { _meta: { progressToken: 'p' } }],
  ])('answers %s still running after an interval as a stream with comments, its result the last event', async (_what, extra) => {
    const res = await post2026(client, 'tools/call', { name: 'held', arguments: {}, ...extra })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const text = await readPastKeepAlive(res, release)
    const events = text.split('\n').filter((line) => line.startsWith('data:'))
    expect(events).toHaveLength(1)
    expect(JSON.parse(events[0]!.slice(5))).toMatchObject({ result: { content: [{ type: 'text', text: 'released' }] } })
    // Far short of the 15 s default: only the server's own interval can comment in time.
  }, 10_000)

  it('answers a quick call as one JSON body, its length given', async () => {
    const res = await post2026(client, 'tools/call', { name: 'quick', arguments: {} })
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('content-length')).not.toBeNull()
    expect(await res.json()).toMatchObject({ result: { content: [{ type: 'text', text: 'quick' }] } })
  })
})
