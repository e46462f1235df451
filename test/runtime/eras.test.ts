import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { killAll, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const FIXTURE = 'fixtures/servers/kitchen-sink.ts'
const text = (result: unknown) => (result as { content: { text?: string }[] }).content[0]?.text

// One suite, run for a 2025-11-25 and a 2026-07-28 client over Streamable HTTP and stdio, with the SDK v2 client.
describe.each([
  ['http', 'legacy'],
  ['http', 'modern'],
  ['stdio', 'legacy'],
  ['stdio', 'modern'],
] as const)('runtime over %s, %s client', (transport, era) => {
  let url = ''
  const open: Client[] = []
  async function connect(): Promise<Client> {
    const client = new Client(
      { name: 'airmcp-era-test', version: '1.0.0' },
      {
        capabilities: { elicitation: {}, sampling: {}, roots: {} },
        ...(era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
      },
    )
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }))
    client.setRequestHandler('sampling/createMessage', async (request) => ({
      role: 'assistant',
      model: 'test',
      content: { type: 'text', text: `roses for ${JSON.stringify(request.params.messages[0].content)}`.slice(0, 40) },
    }))
    client.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }))
    await client.connect(
      transport === 'stdio'
        ? new StdioClientTransport({
            command: process.execPath,
            args: [...TSX_NODE_ARGS, FIXTURE],
            cwd: ROOT,
            env: { ...process.env, TRANSPORT: 'stdio' } as Record<string, string>,
            stderr: 'ignore',
          })
        : new StreamableHTTPClientTransport(new URL(url)),
    )
    open.push(client)
    return client
  }

  beforeAll(async () => {
    if (transport === 'http') url = (await startListening([...TSX_NODE_ARGS, FIXTURE], { env: { TRANSPORT: 'http' } })).url
  })
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((c) => c.close()))
  })
  afterAll(killAll)

  it('negotiates the era and serves tools, resources and prompts', async () => {
    const client = await connect()
    expect(client.getProtocolEra()).toBe(era)
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('interview')
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'ab', times: 2 } }))).toBe('abab')
    const invalid = await client.callTool({ name: 'echo', arguments: { text: 5 } })
    expect(invalid.isError).toBe(true)
    expect((await client.readResource({ uri: 'users://42/profile' })).contents[0]).toMatchObject({ text: '{"id":"42"}' })
    await expect(client.readResource({ uri: 'users://42/other' })).rejects.toThrow(/not found/i)
    const prompt = await client.getPrompt({ name: 'review', arguments: { code: 'x = 1' } })
    expect(prompt.messages[0].content).toEqual({ type: 'text', text: 'Review this code:\nx = 1' })
  })

  it('asks the client (elicitation, sampling, roots) from a handler written once', async () => {
    const client = await connect()
    const result = await client.callTool({ name: 'interview', arguments: {} })
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toEqual({
      name: { name: 'Ada' },
      poem: expect.stringContaining('roses for'),
      roots: ['file:///work'],
    })
  })

  it('reports progress and cancels a call the client aborts, then keeps serving', async () => {
    const client = await connect()
    // The SDK client drops progress that arrives in the same chunk as the result, so record the raw notifications.
    const progress: number[] = []
    client.setNotificationHandler('notifications/progress', async (n) => void progress.push(n.params.progress))
    const done = await client.callTool({ name: 'progress', arguments: { steps: 3 } }, { onprogress: () => {} })
    expect(text(done)).toBe('done')
    await expect.poll(() => progress).toEqual([1, 2, 3])
    const controller = new AbortController()
    const call = client.callTool({ name: 'slow', arguments: {} }, { signal: controller.signal })
    controller.abort('user cancelled')
    await expect(call).rejects.toThrow()
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe('still here')
  })

  it('tells the client when the tool list changes', async () => {
    const client = await connect()
    let changed = 0
    client.setNotificationHandler('notifications/tools/list_changed', async () => void changed++)
    if (era === 'modern') await client.listen({ toolsListChanged: true })
    await client.callTool({ name: 'grow', arguments: {} })
    await expect.poll(() => changed).toBeGreaterThan(0)
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('grown')
  })
})
