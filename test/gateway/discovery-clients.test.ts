// Progressive discovery for clients of both eras: an SDK v2 client in 2025 (legacy) and in 2026 (pinned)
// searches, describes and calls through search_tools / describe_tools / call_tool, and sees only what its
// principal's policy allows, as a 2025 SDK client does (test/gateway/policy-clients.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Gateway } from 'airmcp/gateway'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const FINDER_TOKEN = 'finder-secret'
let gateway: Gateway
const clients: Client[] = []

beforeAll(async () => {
  const team = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/team.ts'], { env: { TEAM: 'a', TRANSPORT: 'http', AIRMCP_PORT: '0' } })
  gateway = new Gateway({
    name: 'discovery-eras',
    port: 0,
    handleSignals: false,
    clients: [{ name: 'finder', token: FINDER_TOKEN, discovery: 'search', tools: { allow: ['search*', 'db-*'], deny: ['search_reindex'] } }],
  })
  gateway.register({ id: 'team-1', name: 'team', connection: { type: 'http', url: team.url } })
  await gateway.start()
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await gateway?.stop()
  await killAll()
})

async function connect(era: '2025-11-25' | '2026-07-28'): Promise<Client> {
  const client = new Client(
    { name: 'discovery-eras', version: '1.0.0' },
    { versionNegotiation: { mode: era === '2025-11-25' ? 'legacy' : { pin: era } } },
  )
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gateway.url!), { requestInit: { headers: { authorization: `Bearer ${FINDER_TOKEN}` } } }),
  )
  clients.push(client)
  return client
}

const textOf = (result: unknown) => (result as { content: { text?: string }[] }).content[0]?.text ?? ''

/** The error a request fails with, with the name it was about replaced, to compare two answers' shapes. */
async function failure(run: () => Promise<unknown>, name: string) {
  const error = (await run().then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: number; message?: string } | undefined
  expect(error).toBeInstanceOf(Error)
  return { code: error!.code, message: error!.message!.split(name).join('<name>') }
}

describe.each(['2025-11-25', '2026-07-28'] as const)('a %s SDK v2 client in search mode', (era) => {
  it('lists the three discovery tools, finds and runs only what its policy allows', async () => {
    const client = await connect(era)
    expect(client.getNegotiatedProtocolVersion()).toBe(era)
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['call_tool', 'describe_tools', 'search_tools'])

    const search = async (query: string) =>
      ((await client.callTool({ name: 'search_tools', arguments: { query, limit: 10 } })).structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name)
    expect((await search('run an SQL query'))[0]).toBe('db-query')
    const reindex = await search('rebuild the search index')
    expect(reindex).toContain('search')
    expect(reindex).not.toContain('search_reindex')
    // Ranked by meaning, every visible tool has some relevance; the hidden one is never among them.
    expect(await search('deploy the service to production')).not.toContain('deploy')

    const described = (await client.callTool({ name: 'describe_tools', arguments: { names: ['db-query', 'deploy'] } })).structuredContent as {
      tools: { name: string }[]
      unknown: string[]
    }
    expect(described.tools.map((t) => t.name)).toEqual(['db-query'])
    expect(described.unknown).toEqual(['deploy'])

    expect(textOf(await client.callTool({ name: 'call_tool', arguments: { name: 'db-query', arguments: { sql: 'select 1' } } }))).toBe('rows:select 1')
    const denied = await failure(() => client.callTool({ name: 'call_tool', arguments: { name: 'search_reindex' } }), 'search_reindex')
    expect(denied).toEqual(await failure(() => client.callTool({ name: 'call_tool', arguments: { name: 'nope' } }), 'nope'))
    expect(denied.code).toBe(-32602)
  })
})
