import { afterAll, describe, expect, it } from 'vitest'
import { Gateway } from 'airmcp/gateway'
import { offeredToolName, serverToolName, validateNaming } from '../../src/gateway/names/naming.js'
import { closeClients, textOf } from '../helpers/clients.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const gateways: Gateway[] = []

afterAll(async () => {
  await closeClients()
  await Promise.all(gateways.map((g) => g.stop()))
  await killAll()
})

describe('per-registration tool names', () => {
  it('renames first, then prefixes, and maps back to the server name', () => {
    const naming = { prefix: 'gh_', rename: { create_issue_v2: 'create_issue' } }
    expect(offeredToolName(naming, 'create_issue_v2')).toBe('gh_create_issue')
    expect(offeredToolName(naming, 'list_issues')).toBe('gh_list_issues')
    expect(offeredToolName(undefined, 'list_issues')).toBe('list_issues')
    const tools = [{ name: 'create_issue_v2' }, { name: 'list_issues' }]
    expect(serverToolName(naming, tools, 'gh_create_issue')).toBe('create_issue_v2')
    expect(serverToolName(naming, tools, 'gh_list_issues')).toBe('list_issues')
  })

  it('refuses naming that cannot make valid tool names', () => {
    expect(() => validateNaming('a-1', { prefix: 'bad prefix' })).toThrow(/Registration "a-1": tools.prefix .*Try this/)
    expect(() => validateNaming('a-1', { rename: { x: 'has space' } })).toThrow(/rename\["x"\]/)
    expect(() => validateNaming('a-1', { rename: { x: 'y', z: 'y' } })).toThrow(/two tools the name "y"/)
    expect(() => validateNaming('a-1', { suffix: '_x' })).toThrow(/unknown key "suffix"/)
    expect(() => validateNaming('a-1', { prefix: 'ok_', rename: { x: 'y' } })).not.toThrow()
    expect(() => new Gateway({ name: 'g' }).register({ id: 'a-1', name: 'a', connection: { type: 'http', url: 'http://127.0.0.1:1/mcp' }, tools: { prefix: '!' } })).toThrow(/prefix/)
  })

  it('exposes and routes the new names through a real gateway; policies see the exposed names', async () => {
    const team = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/team.ts'], { env: { TEAM: 'n', TRANSPORT: 'http', AIRMCP_PORT: '0' } })
    const gateway = new Gateway({
      name: 'naming-gateway',
      port: 0,
      handleSignals: false,
      clients: [{ name: 'reader', token: 'reader-token', tools: { allow: ['t_s*'] } }],
      authToken: 'admin-token',
    })
    gateways.push(gateway)
    gateway.register({ id: 'team-1', name: 'team', connection: { type: 'http', url: team.url }, tools: { prefix: 't_', rename: { 'db-query': 'sql' } } })
    await gateway.start()
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js')
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js')
    const as = async (token: string) => {
      const client = new Client({ name: 't', version: '1' })
      await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url!), { requestInit: { headers: { authorization: `Bearer ${token}` } } }))
      return client
    }
    const admin = await as('admin-token')
    const names = (await admin.listTools()).tools.map((t) => t.name)
    expect(names).toContain('t_sql')
    expect(names).toContain('t_search')
    expect(names).not.toContain('t_db-query')
    expect(names.every((n) => n.startsWith('t_'))).toBe(true)
    expect(textOf(await admin.callTool({ name: 't_sql', arguments: { sql: 'select 1' } }))).toBe('rows:select 1')
    await expect(admin.callTool({ name: 'db-query', arguments: { sql: 'x' } })).rejects.toThrow(/Unknown tool "db-query"/)
    const reader = await as('reader-token')
    expect((await reader.listTools()).tools.map((t) => t.name).sort()).toEqual(['t_search', 't_search_docs', 't_search_reindex', 't_searchable', 't_sql'])
    await Promise.all([admin.close(), reader.close()])
  })
})
