import { describe, expect, it } from 'vitest'
import { cachePlugin, defineTool, loggerPlugin, rateLimitPlugin, retryPlugin, timeoutPlugin, type ToolCall } from 'airmcp'
import { composePlugins } from '../../dist/runtime/plugin.js'
import { toToolResult, type ToolContext } from '../../dist/runtime/tool.js'

// Plugins around a real handler, called the way the server calls them (without a transport).
function chain(plugins: Parameters<typeof composePlugins>[0], handler: (args: Record<string, unknown>, ctx: ToolContext) => unknown) {
  const tool = defineTool('t', { handler })
  const run = composePlugins(plugins, async (call: ToolCall) => toToolResult(await call.tool.handler(call.args, call.context)))
  const context = (sessionId = 's1'): ToolContext => ({
    signal: new AbortController().signal,
    sessionId,
    log: async () => {},
    progress: async () => {},
    sample: async () => ({}),
    elicit: async () => ({}),
  })
  return (args: Record<string, unknown> = {}, sessionId?: string) => run({ tool, args, context: context(sessionId) })
}

describe('plugins', () => {
  it('cache: deep, key-order-independent keys; errors are not cached', async () => {
    let calls = 0
    const call = chain([cachePlugin({ ttlMs: 60_000 })], (args) => {
      calls++
      if (args.fail) throw new Error('no')
      return calls
    })
    expect((await call({ q: { a: 1, b: [1, 2] } })).content[0]).toEqual({ type: 'text', text: '1' })
    expect((await call({ q: { b: [1, 2], a: 1 } })).content[0]).toEqual({ type: 'text', text: '1' })
    expect((await call({ q: { a: 1, b: [2, 1] } })).content[0]).toEqual({ type: 'text', text: '2' })
    await expect(call({ fail: true })).rejects.toThrow('no')
    await expect(call({ fail: true })).rejects.toThrow('no')
    expect(calls).toBe(4)
  })

  it('cache: maxEntries drops the oldest', async () => {
    let calls = 0
    const call = chain([cachePlugin({ ttlMs: 60_000, maxEntries: 2 })], () => ++calls)
    await call({ k: 1 })
    await call({ k: 2 })
    await call({ k: 3 })
    await call({ k: 1 })
    expect(calls).toBe(4)
  })

  it('retry: sees the handler\'s error and tries again', async () => {
    let attempts = 0
    const call = chain([retryPlugin({ retries: 2, delayMs: 1 })], () => {
      if (++attempts < 3) throw new Error('flaky')
      return 'ok'
    })
    expect((await call()).content[0]).toEqual({ type: 'text', text: 'ok' })
    expect(attempts).toBe(3)
  })

  it('timeout: aborts the handler\'s signal and fails the call', async () => {
    let aborted = false
    const call = chain([timeoutPlugin(20)], (_args, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve((aborted = true)))))
    await expect(call()).rejects.toThrow('Tool "t" timed out after 20 ms')
    expect(aborted).toBe(true)
  })

  it('rate limit: counts per session', async () => {
    const call = chain([rateLimitPlugin({ limit: 2, windowMs: 60_000 })], () => 'ok')
    await call({}, 'a')
    await call({}, 'a')
    await expect(call({}, 'a')).rejects.toThrow(/Rate limit of 2 calls per 60000 ms exceeded/)
    expect((await call({}, 'b')).content[0]).toEqual({ type: 'text', text: 'ok' })
  })

  it('rate limit: forgets the windows of sessions that are gone (the map stays bounded)', async () => {
    const { RateWindows } = await import('../../dist/runtime/plugins/rate-limit.js')
    let now = 0
    const windows = new RateWindows(1, 1000, () => now)
    for (let i = 0; i < 10_000; i++) expect(windows.hit(`session-${i}`)).toBeUndefined()
    expect(windows.hit('session-0')).toBe(1)
    expect(windows.size).toBe(10_000)
    now = 1000
    expect(windows.hit('fresh')).toBeUndefined()
    expect(windows.size).toBe(1)
    expect(windows.hit('session-0')).toBeUndefined()
  })

  it('logger: one JSON line per call with its outcome', async () => {
    const lines: string[] = []
    const call = chain([loggerPlugin({ json: true, write: (l) => lines.push(l) })], (args) => {
      if (args.fail) throw new Error('bad')
      return 'ok'
    })
    await call()
    await expect(call({ fail: true })).rejects.toThrow('bad')
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { tool: 't', outcome: 'ok', session: 's1' },
      { tool: 't', outcome: 'error', message: 'bad' },
    ])
  })
})
