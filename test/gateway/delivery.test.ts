// Everything an upstream says about a call reaches the caller whose call it is, before that call's result:
// 50 clients call at once through a gateway process, in both eras, to a Streamable HTTP and a stdio upstream
// (spoken to in 2026, and pinned to a 2025 session).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { closeEraClients, connectEra, type Era } from '../helpers/era-clients.js'
import { killAll, startListening, TSX_NODE_ARGS, type Started } from '../helpers/processes.js'

const CALLERS = 50
const CHATTY = 'fixtures/servers/chatty.ts'
let gateway: Started

beforeAll(async () => {
  const http = await startListening([...TSX_NODE_ARGS, CHATTY], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0' } })
  const upstreams = [
    { id: 'web-1', name: 'web', connection: { type: 'http', url: http.url } },
    { id: 'local-1', name: 'local', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, CHATTY], env: { TRANSPORT: 'stdio' } } },
    // The same over one 2025 session for every client (the runtime's session path on stdio).
    { id: 'pinned-1', name: 'pinned', connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, CHATTY], env: { TRANSPORT: 'stdio' } }, protocol: '2025-11-25', sessions: 'shared' },
  ]
  gateway = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/upstreams-gateway.ts'], {
    env: { GATEWAY_UPSTREAMS: JSON.stringify(upstreams), AIRMCP_GATEWAY_PORT: '0' },
  })
  // Ready when both upstreams are connected (a loaded machine may need a second connect).
  await vi.waitFor(
    async () => {
      const health = (await (await fetch(new URL('/health', gateway.url))).json()) as { status: string }
      if (health.status !== 'ok') throw new Error(`gateway ${health.status}`)
    },
    { timeout: 60_000, interval: 200 },
  )
}, 90_000)

afterEach(closeEraClients)
afterAll(killAll)

describe.each(['2025-11-25', '2026-07-28'] as const)('%s clients', (era: Era) => {
  it.each(['web', 'local', 'pinned'])(`${CALLERS} callers at once through the gateway to the %s upstream each get their 3 progress and 3 logs before their result`, async (pool) => {
    const callers = await Promise.all(
      Array.from({ length: CALLERS }, async (_, index) => {
        const client = await connectEra(new StreamableHTTPClientTransport(new URL(gateway.url)), era)
        const events: string[] = []
        client.setNotificationHandler('notifications/message', (n) => void events.push(String(n.params.data)))
        // A 2025 session asks for logs once; a 2026 request asks for them in its own envelope.
        if (era === '2025-11-25') await client.setLoggingLevel('info')
        return { client, events, tag: `c${index}` }
      }),
    )
    const seenAtResult = await Promise.all(
      callers.map(async ({ client, events, tag }) => {
        const result = await client.callTool(
          { name: `${pool}__chatter`, arguments: { tag }, ...(era === '2026-07-28' ? { _meta: { 'io.modelcontextprotocol/logLevel': 'info' } } : {}) },
          { onprogress: (p) => void events.push(String(p.message)) },
        )
        expect(result.content).toEqual([{ type: 'text', text: tag }])
        return { tag, seen: [...events] }
      }),
    )
    for (const { tag, seen } of seenAtResult) {
      // Each kind in the order the tool sent it, nothing of another caller's.
      expect(seen.filter((e) => e.startsWith('progress'))).toEqual([1, 2, 3].map((step) => `progress ${step} ${tag}`))
      expect(seen.filter((e) => e.startsWith('log'))).toEqual([1, 2, 3].map((step) => `log ${step} ${tag}`))
      expect(seen).toHaveLength(6)
    }
  }, 120_000)
})
