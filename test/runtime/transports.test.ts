import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  CallToolResultSchema,
  LoggingMessageNotificationSchema,
  ProgressNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const FIXTURE = 'fixtures/servers/kitchen-sink.ts'

// One suite, run against every transport.
describe.each(['stdio', 'sse', 'http'] as const)('runtime over %s', (transport) => {
  let url = ''
  const connect = async (capabilities: Record<string, unknown> = {}): Promise<Client> =>
    transport === 'stdio'
      ? connectClient(
          'stdio',
          { command: process.execPath, args: [...TSX_NODE_ARGS, FIXTURE], cwd: ROOT, env: { ...process.env, TRANSPORT: 'stdio' } as Record<string, string> },
          capabilities,
        )
      : connectClient(transport, url, capabilities)

  beforeAll(async () => {
    if (transport !== 'stdio') {
      url = (await startListening([...TSX_NODE_ARGS, FIXTURE], { env: { TRANSPORT: transport } })).url
    }
  })
  afterEach(closeClients)
  afterAll(killAll)

  it('lists tools with JSON Schemas and calls them', async () => {
    const client = await connect()
    const { tools } = await client.listTools()
    const echo = tools.find((t) => t.name === 'echo')!
    expect(echo.inputSchema).toMatchObject({
      type: 'object',
      properties: { text: { type: 'string', description: 'Text' }, times: { type: 'integer' } },
      required: ['text'],
    })
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ab', times: 2 } }))).toBe('abab')
    expect(textOf(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('5')
    expect(await client.callTool({ name: 'no_params', arguments: {} })).toMatchObject({ structuredContent: { keys: [] } })
    expect(await client.callTool({ name: 'choose', arguments: { color: 'red' } })).toMatchObject({
      structuredContent: { color: 'red', size: 3 },
    })
    expect(await client.callTool({ name: 'list' })).toMatchObject({
      content: [{ type: 'text', text: '[1,2,3]' }],
      structuredContent: { items: [1, 2, 3] },
    })
  })

  it('reports invalid arguments naming the field, and errors as isError', async () => {
    const client = await connect()
    const invalid = await client.callTool({ name: 'echo', arguments: { text: 5 } })
    expect(invalid.isError).toBe(true)
    expect(textOf(invalid)).toMatch(/text: .*expected string/i)
    const badEnum = await client.callTool({ name: 'choose', arguments: { color: 'blue' } })
    expect(badEnum.isError).toBe(true)
    expect(textOf(badEnum)).toContain('color')
    expect(await client.callTool({ name: 'fail' })).toMatchObject({ isError: true, content: [{ text: 'it broke' }] })
    expect(await client.callTool({ name: 'explicit_error' })).toMatchObject({ isError: true })
    await expect(client.callTool({ name: 'nope' })).rejects.toThrow(/Unknown tool "nope"/)
  })

  it('passes every content type through', async () => {
    const client = await connect()
    const result = await client.callTool({ name: 'contents' })
    expect((result.content as { type: string }[]).map((c) => c.type)).toEqual([
      'text',
      'image',
      'audio',
      'resource_link',
      'resource',
    ])
  })

  it('serves resources, templates, subscriptions and completion', async () => {
    const updates: string[] = []
    const client = await connect()
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri))
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['note://a', 'bin://blob'])
    expect((await client.listResourceTemplates()).resourceTemplates).toMatchObject([
      { uriTemplate: 'users://{id}/profile', name: 'profile' },
    ])
    expect((await client.readResource({ uri: 'note://a' })).contents).toEqual([
      { uri: 'note://a', mimeType: 'text/plain', text: 'A' },
    ])
    expect((await client.readResource({ uri: 'bin://blob' })).contents[0]).toMatchObject({ blob: 'AQID' })
    expect((await client.readResource({ uri: 'users://42/profile' })).contents[0]).toMatchObject({ text: '{"id":"42"}' })
    await expect(client.readResource({ uri: 'users://42/other' })).rejects.toThrow(/not found/)
    const completion = await client.complete({
      ref: { type: 'ref/resource', uri: 'users://{id}/profile' },
      argument: { name: 'id', value: '1' },
    })
    expect(completion.completion.values).toEqual(['1', '10'])
    await client.subscribeResource({ uri: 'note://a' })
    await client.callTool({ name: 'touch_note' })
    await expect.poll(() => updates).toEqual(['note://a'])
  })

  it('serves prompts with arguments and completion', async () => {
    const client = await connect()
    const { prompts } = await client.listPrompts()
    expect(prompts[0]).toMatchObject({ name: 'review', arguments: [{ name: 'code', required: true }, { name: 'language' }] })
    const prompt = await client.getPrompt({ name: 'review', arguments: { code: 'x = 1', language: 'python' } })
    expect(prompt.messages[0].content).toEqual({ type: 'text', text: 'Review this python:\nx = 1' })
    await expect(client.getPrompt({ name: 'review', arguments: {} })).rejects.toThrow(/code/)
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'review' },
      argument: { name: 'language', value: 'py' },
    })
    expect(completion.completion.values).toEqual(['python'])
  })

  it('sends logging and progress notifications', async () => {
    const logs: unknown[] = []
    const client = await connect()
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data))
    await client.setLoggingLevel('info')
    await client.callTool({ name: 'log' })
    expect(logs).toEqual([{ note: 'a warning' }])
    // The SDK client drops progress that arrives in the same chunk as the result, so record the raw notifications.
    const progress: number[] = []
    client.setNotificationHandler(ProgressNotificationSchema, (n) => void progress.push(n.params.progress))
    const result = await client.callTool({ name: 'progress', arguments: { steps: 3 } }, CallToolResultSchema, {
      onprogress: () => {},
    })
    expect(textOf(result)).toBe('done')
    await expect.poll(() => progress).toEqual([1, 2, 3])
  })

  it('caches results, honours exclude, and times out for real', async () => {
    const client = await connect()
    const first = textOf(await client.callTool({ name: 'count' }))
    expect(textOf(await client.callTool({ name: 'count' }))).toBe(first)
    const a = textOf(await client.callTool({ name: 'count_uncached' }))
    expect(textOf(await client.callTool({ name: 'count_uncached' }))).not.toBe(a)
    const timedOut = await client.callTool({ name: 'slow_timeout' })
    expect(timedOut).toMatchObject({ isError: true, content: [{ text: 'Tool "slow_timeout" timed out after 300 ms' }] })
  })

  it('cancels a call when the client aborts it, and keeps serving', async () => {
    const client = await connect()
    const controller = new AbortController()
    const call = client.callTool({ name: 'slow' }, CallToolResultSchema, { signal: controller.signal })
    controller.abort('user cancelled')
    await expect(call).rejects.toThrow()
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe('still here')
  })

  it.runIf(transport !== 'stdio')('serves 20 concurrent clients, each in its own session', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect()))
    const results = await Promise.all(
      clients.map((c, i) => c.callTool({ name: 'echo', arguments: { text: `c${i}` } })),
    )
    expect(results.map(textOf)).toEqual(clients.map((_, i) => `c${i}`))
    const sessions = await Promise.all(clients.map((c) => c.callTool({ name: 'whoami' })))
    const ids = new Set(sessions.map((s) => (s.structuredContent as { sessionId: string }).sessionId))
    expect(ids.size).toBe(20)
  })

  it.runIf(transport !== 'stdio')('refuses a foreign Origin and a foreign Host', async () => {
    const endpoint = new URL(url)
    const foreignOrigin = await fetch(endpoint, {
      method: transport === 'http' ? 'POST' : 'GET',
      headers: { origin: 'http://evil.example', accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: transport === 'http' ? '{}' : undefined,
    })
    expect(foreignOrigin.status).toBe(403)
    const health = await fetch(new URL('/health', endpoint))
    expect(await health.json()).toMatchObject({ status: 'ok', name: 'kitchen-sink' })
  })
})
