import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { CallToolResultSchema, CreateMessageRequestSchema, ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import { Gateway } from 'airmcp/gateway'
import { textOf } from '../helpers/clients.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const TEAM = 'fixtures/servers/team.ts'
let gateway: Gateway
const clients: Client[] = []

/** A real client of the gateway that records every log and elicitation request it receives. */
async function recordingClient(name: string, capabilities: Record<string, unknown>) {
  const logs: string[] = []
  const asked: string[] = []
  const prompts: string[] = []
  const progress: string[] = []
  const client = new Client({ name, version: '1' }, { capabilities })
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)))
  await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url!)))
  clients.push(client)
  return { client, logs, asked, prompts, progress }
}

/**
 * Two clients that each answer elicitation with their own name, once both have been asked: both calls are
 * in flight on the upstream at the same time, whatever the scheduling.
 */
async function twoElicitingClients() {
  const a = await recordingClient('client-a', { elicitation: {}, sampling: {} })
  const b = await recordingClient('client-b', { elicitation: {}, sampling: {} })
  let release!: () => void
  const bothAsked = new Promise<void>((resolve) => (release = resolve))
  let askedCount = 0
  for (const [who, c] of [['A', a], ['B', b]] as const) {
    c.client.setRequestHandler(ElicitRequestSchema, async (request) => {
      c.asked.push(request.params.message)
      if (++askedCount === 2) release()
      await bothAsked
      return { action: 'accept', content: { answer: `answer from ${who}` } }
    })
    c.client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      c.prompts.push(String((request.params.messages[0].content as { text?: string }).text))
      return { role: 'assistant', content: { type: 'text', text: `sampled by ${who}` }, model: 'test' }
    })
  }
  return { a, b }
}

const call = (client: Client, pool: string, name: string, args: Record<string, unknown>) =>
  client.callTool({ name: `${pool}__${name}`, arguments: args })

beforeAll(async () => {
  const http = await startListening([...TSX_NODE_ARGS, TEAM], { env: { TEAM: 'h', TRANSPORT: 'http', AIRMCP_PORT: '0' } })
  gateway = new Gateway({ name: 'isolation-gateway', port: 0, handleSignals: false })
  // The isolation rules are about 2025 sessions shared by clients (a 2026 request carries its own messages).
  gateway.register({ id: 'web-1', name: 'web', connection: { type: 'http', url: http.url }, protocol: '2025-11-25' })
  // The same server registered without a pin: spoken to in 2026-07-28, plus a 2025 session for 2025 callers.
  gateway.register({ id: 'modern-1', name: 'modern', connection: { type: 'http', url: http.url } })
  gateway.register({ id: 'local-1', name: 'local', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, TEAM], env: { TEAM: 's', TRANSPORT: 'stdio' } }, protocol: '2025-11-25' })
  // Marked stateless: one stdio connection for every client that declares no elicitation (the ambiguity rules below).
  gateway.register({ id: 'shared-1', name: 'shared', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, TEAM], env: { TEAM: 's', TRANSPORT: 'stdio' } }, protocol: '2025-11-25', sessions: 'shared' })
  await gateway.start()
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await gateway?.stop()
  await killAll()
})

describe('client isolation', () => {
  for (const [pool, channel] of [
    ['web', 'a Streamable HTTP upstream (one shared session; each message rides its request stream)'],
    ['local', 'a stdio upstream (each eliciting client gets its own connection)'],
    // Bridged to 2026 input rounds the handler would rerun from the top (a progress and a log per round):
    // the exact lists below say each call ran once, on the 2025 session the gateway keeps beside the 2026 one.
    ['modern', 'an upstream serving both revisions (2025 clients ride a 2025 session beside the 2026 connection)'],
  ] as const) {
    it(`two concurrent clients each get only their own logs, elicitation, sampling and progress, on ${channel}`, async () => {
      const { a, b } = await twoElicitingClients()
      const withProgress = (c: typeof a, tag: string) =>
        c.client.callTool({ name: `${pool}__log_and_elicit`, arguments: { tag } }, CallToolResultSchema, {
          onprogress: (p) => void c.progress.push(p._meta ? 'marked!' : String(p.message)),
        })
      const [resultA, resultB] = await Promise.all([withProgress(a, 'A'), withProgress(b, 'B')])
      // The server side: each question was answered by the client whose call asked it.
      expect(resultA.structuredContent).toMatchObject({ tag: 'A', answer: 'answer from A', sampled: 'sampled by A' })
      expect(resultB.structuredContent).toMatchObject({ tag: 'B', answer: 'answer from B', sampled: 'sampled by B' })
      // The client side: each saw its own question and its own logs, nothing of the other's.
      expect(a.asked).toEqual(['question for A'])
      expect(b.asked).toEqual(['question for B'])
      expect(a.prompts).toEqual(['prompt for A'])
      expect(b.prompts).toEqual(['prompt for B'])
      expect(a.progress).toEqual(['progress A'])
      expect(b.progress).toEqual(['progress B'])
      await expect.poll(() => a.logs).toEqual(['start A', 'end A'])
      await expect.poll(() => b.logs).toEqual(['start B', 'end B'])
      const pids = [resultA, resultB].map((r) => (r.structuredContent as { pid: number }).pid)
      if (pool === 'local') expect(pids[0]).not.toBe(pids[1])
      else expect(pids[0]).toBe(pids[1])
      if (pool === 'modern') expect(gateway.list().find((s) => s.id === 'modern-1')?.protocolVersion).toBe('2026-07-28')
    })
  }

  it('two concurrent 2026 clients on the upstream spoken to in 2026 each answer only their own questions', async () => {
    let release!: () => void
    const bothAsked = new Promise<void>((resolve) => (release = resolve))
    let askedCount = 0
    const modernClient = async (who: string) => {
      const seen = { asked: [] as string[], prompts: [] as string[], progress: [] as string[] }
      const client = new ModernClient(
        { name: `client-${who}`, version: '1' },
        { capabilities: { elicitation: {}, sampling: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
      )
      client.setRequestHandler('elicitation/create', async (request) => {
        seen.asked.push(request.params.message)
        if (++askedCount === 2) release()
        // Both answer together, so their next rounds run on the upstream at the same time.
        await bothAsked
        return { action: 'accept', content: { answer: `answer from ${who}` } }
      })
      client.setRequestHandler('sampling/createMessage', async (request) => {
        seen.prompts.push(String((request.params.messages[0].content as { text?: string }).text))
        return { role: 'assistant', model: 'test', content: { type: 'text', text: `sampled by ${who}` } }
      })
      await client.connect(new ModernTransport(new URL(gateway.url!)))
      const call = client.callTool(
        { name: 'modern__log_and_elicit', arguments: { tag: who } },
        { onprogress: (p) => void seen.progress.push(String(p.message)) },
      )
      return { client, seen, call }
    }
    const [a, b] = await Promise.all([modernClient('A'), modernClient('B')])
    try {
      const [resultA, resultB] = await Promise.all([a.call, b.call])
      expect(resultA.structuredContent).toMatchObject({ tag: 'A', answer: 'answer from A', sampled: 'sampled by A' })
      expect(resultB.structuredContent).toMatchObject({ tag: 'B', answer: 'answer from B', sampled: 'sampled by B' })
      for (const [who, seen] of [['A', a.seen], ['B', b.seen]] as const) {
        expect(seen.asked).toEqual([`question for ${who}`])
        expect(seen.prompts).toEqual([`prompt for ${who}`])
        // Each input round reruns the handler, so progress may repeat: but only ever the caller's own (the SDK
        // client adds its own "Fulfilling input required … (round N)" progress, which is not the upstream's).
        const fromUpstream = seen.progress.filter((message) => !message.startsWith('Fulfilling input required'))
        expect(fromUpstream.length).toBeGreaterThan(0)
        expect(fromUpstream).toEqual(fromUpstream.map(() => `progress ${who}`))
      }
    } finally {
      await Promise.allSettled([a.client.close(), b.client.close()])
    }
  })

  it("gives each caller its own elicitation and logs on a stdio connection shared by sessions: 'shared' (the server names the call of each)", async () => {
    // Clients that declare no elicitation share the stdio connection; both calls are in flight when the server asks.
    const c = await recordingClient('client-c', {})
    const d = await recordingClient('client-d', {})
    const [resultC, resultD] = await Promise.all([
      call(c.client, 'shared', 'elicit_when_both', { tag: 'C' }),
      call(d.client, 'shared', 'elicit_when_both', { tag: 'D' }),
    ])
    // Each question went to the client whose call asked it, which answered as its SDK does without the capability.
    for (const result of [resultC, resultD]) {
      expect(result.isError).toBe(true)
      expect(textOf(result)).toMatch(/Method not found/)
    }
    expect(c.logs).toEqual(['log C'])
    expect(d.logs).toEqual(['log D'])
  })

  it("drops the logs a call sends after its result on a connection shared by sessions: 'shared' (nobody else may read them)", async () => {
    const warn = await recordingClient('client-warning', {})
    const silent = await recordingClient('client-silent', {})
    await warn.client.setLoggingLevel('warning')
    expect(textOf(await call(warn.client, 'shared', 'log_later', {}))).toBe('ok')
    // The next call's log comes after the late ones on the wire: by the time it arrives, they were handled.
    expect(textOf(await call(warn.client, 'shared', 'log_warning', {}))).toBe('ok')
    await expect.poll(() => warn.logs).toEqual(['warning now'])
    expect(silent.logs).toEqual([])
  })
})
