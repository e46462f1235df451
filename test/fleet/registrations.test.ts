import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, describe, expect, it } from 'vitest'
import { defineServer, defineTool, type McpServer } from 'airmcp'
import { Gateway } from 'airmcp/gateway'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'

// The run-time registration API that `airmcp dev` drives: the set changes, client sessions stay.

async function serve(name: string, tool: string): Promise<McpServer> {
  const server = defineServer({
    name,
    version: '1.0.0',
    transport: { type: 'http', port: 0 },
    handleSignals: false,
    tools: [defineTool(tool, { description: `${tool} of ${name}`, handler: () => `${tool} answered` })],
  })
  await server.start()
  return server
}

describe('Gateway registrations at run time', () => {
  const stops: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    await closeClients()
    for (const stop of stops.reverse()) await stop()
  })

  it('setRegistrations adds, replaces and removes while one client session keeps going; unregister and reconnect', async () => {
    const alpha = await serve('alpha', 'one')
    const beta = await serve('beta', 'two')
    const gateway = new Gateway({ name: 'g', port: 0, handleSignals: false })
    const registration = (name: string, server: McpServer) => ({ id: `${name}-1`, name, connection: { type: 'http' as const, url: server.url! } })
    gateway.register(registration('alpha', alpha))
    await gateway.start()
    stops.push(() => alpha.stop(), () => beta.stop(), () => gateway.stop())

    const client = await connectClient('http', gateway.url!)
    let changes = 0
    let wake = () => {}
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes++
      wake()
    })
    const until = async (names: string[]) => {
      for (;;) {
        const seen = changes
        const listed = (await client.listTools()).tools.map((t) => t.name).sort()
        if (JSON.stringify(listed) === JSON.stringify(names)) return
        if (changes === seen) await new Promise<void>((resolve) => (wake = resolve))
      }
    }
    expect(textOf(await client.callTool({ name: 'one', arguments: {} }))).toBe('one answered')

    expect(await gateway.setRegistrations([registration('alpha', alpha), registration('beta', beta)])).toEqual({ added: ['beta-1'], removed: [], changed: [] })
    await until(['one', 'two'])
    expect(textOf(await client.callTool({ name: 'two', arguments: {} }))).toBe('two answered')

    // Unchanged: nothing reconnects, the figures stay.
    expect(await gateway.setRegistrations([registration('alpha', alpha), registration('beta', beta)])).toEqual({ added: [], removed: [], changed: [] })
    expect(gateway.list().find((s) => s.id === 'alpha-1')).toMatchObject({ calls: 1, errors: 0 })

    await gateway.reconnect('alpha-1')
    expect(gateway.list().find((s) => s.id === 'alpha-1')).toMatchObject({ status: 'connected', calls: 1 })

    expect(await gateway.setRegistrations([registration('beta', beta)])).toEqual({ added: [], removed: ['alpha-1'], changed: [] })
    await until(['two'])
    expect(changes).toBeGreaterThanOrEqual(2)
    expect(await gateway.unregister('alpha-1')).toBe(false)
    expect(await gateway.unregister('beta-1')).toBe(true)
    await until([])
    expect(textOf(await client.callTool({ name: 'two', arguments: {} }).catch((e: Error) => ({ content: [{ type: 'text', text: e.message }] })))).toMatch(/Unknown tool "two"/)
  })

  it("reconnect after its server restarted: client sessions' own connections to it start over as well, however many restarts came before", async () => {
    // `airmcp dev` restarts a server on each save within seconds: a session's own connection that outlived
    // them counted them as a crash loop and waited out its growing backoff (saves served up to 30 s late).
    const start = async (port: number, answer: string) => {
      const started = defineServer({
        name: 'gamma',
        version: '1.0.0',
        transport: { type: 'sse', port },
        handleSignals: false,
        tools: [defineTool('three', { description: 'three', handler: () => answer })],
      })
      await started.start()
      return started
    }
    let server = await start(0, 'first build')
    const url = server.url!
    const gateway = new Gateway({ name: 'g', port: 0, handleSignals: false })
    gateway.register({ id: 'gamma-1', name: 'gamma', connection: { type: 'sse', url } })
    await gateway.start()
    stops.push(() => server.stop(), () => gateway.stop())
    const client = await connectClient('http', gateway.url!)
    expect(textOf(await client.callTool({ name: 'three', arguments: {} }))).toBe('first build')
    for (let build = 2; build <= 6; build++) {
      await server.stop()
      server = await start(Number(new URL(url).port), `build ${build}`)
      await gateway.reconnect('gamma-1')
      expect(textOf(await client.callTool({ name: 'three', arguments: {} }))).toBe(`build ${build}`)
    }
  })
})
