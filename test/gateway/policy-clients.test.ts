import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { Gateway } from 'airmcp/gateway'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const TOKENS = { admin: 'admin-secret', ci: 'ci-secret', ops: 'ops-secret', finder: 'finder-secret' }
let gateway: Gateway
const clients: Client[] = []

async function connectAs(token: string): Promise<Client> {
  const client = new Client({ name: 'policy-test', version: '1' })
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gateway.url!), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  )
  clients.push(client)
  return client
}

/** The error a request fails with, with the name it was about replaced, to compare two answers' shapes. */
async function failure(run: () => Promise<unknown>, name: string) {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(McpError)
  const { code, message, data } = error as McpError
  return { code, message: message.split(name).join('<name>'), data }
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort()

beforeAll(async () => {
  const team = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/team.ts'], { env: { TEAM: 'a', TRANSPORT: 'http', AIRMCP_PORT: '0' } })
  gateway = new Gateway({
    name: 'policy-gateway',
    port: 0,
    handleSignals: false,
    authToken: TOKENS.admin,
    clients: [
      {
        name: 'ci-bot',
        token: TOKENS.ci,
        tools: { allow: ['search*'], deny: ['search_reindex'] },
        prompts: { deny: ['admin_*'] },
        resources: { allow: ['mem://public/*'] },
      },
      { name: 'ops', token: TOKENS.ops, tools: { allow: ['deploy', 'db-*', 'whoami'] } },
      { name: 'finder', token: TOKENS.finder, discovery: 'search', tools: { allow: ['search*', 'db-*'], deny: ['search_reindex'] } },
    ],
  })
  gateway.register({ id: 'team-1', name: 'team', connection: { type: 'http', url: team.url } })
  await gateway.start()
})

afterAll(async () => {
  await closeClients()
  await Promise.allSettled(clients.map((c) => c.close()))
  await gateway?.stop()
  await killAll()
})

describe('tool policies, with real clients', () => {
  it('lists only the allowed tools, and a denied tool answers exactly like a tool that does not exist', async () => {
    const ci = await connectAs(TOKENS.ci)
    expect(await toolNames(ci)).toEqual(['search', 'search_docs', 'searchable'])
    expect(textOf(await ci.callTool({ name: 'search', arguments: { query: 'q' } }))).toBe('search:q')
    const denied = await failure(() => ci.callTool({ name: 'search_reindex' }), 'search_reindex')
    const missing = await failure(() => ci.callTool({ name: 'no_such_tool' }), 'no_such_tool')
    const outsideAllow = await failure(() => ci.callTool({ name: 'deploy' }), 'deploy')
    expect(denied).toEqual(missing)
    expect(outsideAllow).toEqual(missing)
    expect(missing.code).toBe(-32602)
  })

  it('serves two clients with different policies at once', async () => {
    const [ci, ops] = await Promise.all([connectAs(TOKENS.ci), connectAs(TOKENS.ops)])
    const [ciTools, opsTools] = await Promise.all([toolNames(ci), toolNames(ops)])
    expect(ciTools).toEqual(['search', 'search_docs', 'searchable'])
    expect(opsTools).toEqual(['db-query', 'deploy', 'whoami'])
    const rounds = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const [a, b, c, d] = await Promise.all([
          ci.callTool({ name: 'search_docs', arguments: { query: 'x' } }).then(textOf),
          ops.callTool({ name: 'deploy' }).then(textOf),
          ci.callTool({ name: 'deploy' }).then(textOf, (e: Error) => e.message),
          ops.callTool({ name: 'search', arguments: { query: 'x' } }).then(textOf, (e: Error) => e.message),
        ])
        return [a, b, c, d]
      }),
    )
    for (const round of rounds) {
      expect(round).toEqual(['docs:x', 'deployed', 'MCP error -32602: Unknown tool "deploy".', 'MCP error -32602: Unknown tool "search".'])
    }
  })

  it('keeps authToken working: the single token sees everything', async () => {
    const admin = await connectAs(TOKENS.admin)
    const everything = gateway.list()[0].tools.sort()
    expect(everything).toContain('search_reindex')
    expect(await toolNames(admin)).toEqual(everything)
    expect(textOf(await admin.callTool({ name: 'search_reindex' }))).toBe('reindexed')
  })

  it('applies to prompts and resources the same way', async () => {
    const ci = await connectAs(TOKENS.ci)
    expect((await ci.listPrompts()).prompts.map((p) => p.name)).toEqual(['greet'])
    const deniedPrompt = await failure(() => ci.getPrompt({ name: 'admin_reset' }), 'admin_reset')
    expect(deniedPrompt).toEqual(await failure(() => ci.getPrompt({ name: 'no_prompt' }), 'no_prompt'))
    expect((await ci.listResources()).resources.map((r) => r.uri)).toEqual(['mem://public/readme'])
    expect((await ci.readResource({ uri: 'mem://public/readme' })).contents[0]).toMatchObject({ text: 'public text' })
    const deniedResource = await failure(() => ci.readResource({ uri: 'mem://secret/keys' }), 'mem://secret/keys')
    expect(deniedResource).toEqual(await failure(() => ci.readResource({ uri: 'mem://secret/none' }), 'mem://secret/none'))
    expect(deniedResource.code).toBe(-32002)
  })

  it('answers a wrong or missing token with 401 and nothing about which clients exist', async () => {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }
    const post = (authorization?: string) =>
      fetch(gateway.url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(initialize),
      })
    const answers = await Promise.all([post(), post('Bearer wrong'), post(`Bearer ${TOKENS.ci}x`), post(`Basic ${TOKENS.ci}`)])
    const bodies = await Promise.all(answers.map((r) => r.text()))
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401])
    expect(new Set(bodies).size).toBe(1)
    expect(bodies[0]).not.toMatch(/ci-bot|ops|finder|admin/)
    await expect(connectAs('wrong')).rejects.toThrow()
    // /health: a bare status without a known token; with one, tool counts and still no tool names.
    expect(await (await fetch(new URL('/health', gateway.url))).json()).toEqual({ status: 'ok' })
    const health = await (await fetch(new URL('/health', gateway.url), { headers: { authorization: `Bearer ${TOKENS.ci}` } })).json()
    expect(JSON.stringify(health)).not.toMatch(/search_reindex|deploy/)
    expect(health.servers[0]).toMatchObject({ id: 'team-1', status: 'connected', toolCount: expect.any(Number) })
    // The legacy SSE front answers the same.
    const sse = await fetch(new URL('/sse', gateway.url), { headers: { accept: 'text/event-stream', authorization: 'Bearer wrong' } })
    expect(sse.status).toBe(401)
    expect(await sse.text()).toBe(bodies[0])
  })

  it("answers a request on another client's session like one on a session that does not exist", async () => {
    const headers = (token: string) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` })
    const init = await fetch(gateway.url!, {
      method: 'POST',
      headers: headers(TOKENS.ci),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    })
    const sessionId = init.headers.get('mcp-session-id')!
    await init.text()
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' }
    const stolen = await fetch(gateway.url!, { method: 'POST', headers: { ...headers(TOKENS.ops), 'mcp-session-id': sessionId }, body: JSON.stringify(list) })
    const unknown = await fetch(gateway.url!, { method: 'POST', headers: { ...headers(TOKENS.ops), 'mcp-session-id': 'no-such-session' }, body: JSON.stringify(list) })
    expect(stolen.status).toBe(404)
    expect(unknown.status).toBe(404)
    expect((await stolen.text()).replace(sessionId, '<id>')).toBe((await unknown.text()).replace('no-such-session', '<id>'))
  })
})

describe('progressive discovery, with real clients', () => {
  it('lists three tools, searches and describes only allowed tools, and routes call_tool through the policy', async () => {
    const finder = await connectAs(TOKENS.finder)
    expect(await toolNames(finder)).toEqual(['call_tool', 'describe_tools', 'search_tools'])
    const search = async (query: string) =>
      ((await finder.callTool({ name: 'search_tools', arguments: { query, limit: 10 } })).structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name)
    const reindex = await search('rebuild the search index')
    expect(reindex).not.toContain('search_reindex')
    expect(reindex).toContain('search')
    // Ranked by meaning, every visible tool has some relevance; the hidden one is never among them.
    expect(await search('deploy the service to production')).not.toContain('deploy')
    expect((await search('run an SQL query'))[0]).toBe('db-query')

    const described = (await finder.callTool({ name: 'describe_tools', arguments: { names: ['db-query', 'search_reindex', 'deploy', 'nope'] } }))
      .structuredContent as { tools: { name: string; inputSchema: { properties: Record<string, unknown> } }[]; unknown: string[] }
    expect(described.tools.map((t) => t.name)).toEqual(['db-query'])
    expect(Object.keys(described.tools[0].inputSchema.properties)).toEqual(['sql'])
    expect(described.unknown).toEqual(['search_reindex', 'deploy', 'nope'])

    expect(textOf(await finder.callTool({ name: 'call_tool', arguments: { name: 'db-query', arguments: { sql: 'select 1' } } }))).toBe('rows:select 1')
    const viaCall = await failure(() => finder.callTool({ name: 'call_tool', arguments: { name: 'search_reindex' } }), 'search_reindex')
    expect(viaCall).toEqual(await failure(() => finder.callTool({ name: 'nope' }), 'nope'))
    // A direct call by exposed name still works, and is policy-checked the same way.
    expect(textOf(await finder.callTool({ name: 'search', arguments: { query: 'z' } }))).toBe('search:z')
    expect(await failure(() => finder.callTool({ name: 'deploy' }), 'deploy')).toEqual(viaCall)
    const bad = await finder.callTool({ name: 'search_tools', arguments: {} })
    expect(bad.isError).toBe(true)
    expect(textOf(bad)).toMatch(/needs a "query"/)
  })
})

describe('tool policies on the stdio front', () => {
  it("applies stdioClient's policy to the client that launched the gateway", async () => {
    const client = await connectClient('stdio', { command: process.execPath, args: [...TSX_NODE_ARGS, 'fixtures/servers/team-gateway.ts'], cwd: ROOT })
    expect(await toolNames(client)).toEqual(['search', 'search_docs', 'searchable'])
    expect(textOf(await client.callTool({ name: 'search', arguments: { query: 's' } }))).toBe('search:s')
    expect(await failure(() => client.callTool({ name: 'search_reindex' }), 'search_reindex')).toEqual(
      await failure(() => client.callTool({ name: 'nope' }), 'nope'),
    )
  })

  it('refuses a stdioClient that is not one of the clients', () => {
    expect(() => new Gateway({ name: 'g', stdioClient: 'ghost', clients: [{ name: 'a', token: 't' }] })).toThrow(/stdioClient "ghost" is not one of clients/)
  })
})
