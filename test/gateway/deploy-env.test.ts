import { afterEach, describe, expect, it } from 'vitest'
import { Gateway } from 'airmcp/gateway'
import { upstreamUrlVariable, withUpstreamOverride } from '../../src/gateway/upstreams/deploy-env.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { closeClients, textOf } from '../helpers/clients.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

const gateways: Gateway[] = []
const saved = { ...process.env }

afterEach(async () => {
  await closeClients()
  await Promise.all(gateways.splice(0).map((g) => g.stop()))
  await killAll()
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
})

describe('AIRMCP_UPSTREAM_<NAME>_URL', () => {
  it('names the variable after the registration name', () => {
    expect(upstreamUrlVariable('search')).toBe('AIRMCP_UPSTREAM_SEARCH_URL')
    expect(upstreamUrlVariable('web-tools.v2')).toBe('AIRMCP_UPSTREAM_WEB_TOOLS_V2_URL')
  })

  it('moves only localhost SSE/HTTP registrations; remote replicas and stdio stay', () => {
    const env = { AIRMCP_UPSTREAM_SEARCH_URL: 'http://search:3510' }
    const local = { id: 'search-1', name: 'search', connection: { type: 'sse' as const, url: 'http://localhost:3510' } }
    const remote = { id: 'search-2', name: 'search', connection: { type: 'sse' as const, url: 'http://server2:3510' } }
    const stdio = { id: 'search-3', name: 'search', connection: { type: 'stdio' as const, command: 'node', args: ['x.js'] } }
    expect(withUpstreamOverride(local, env).connection).toEqual({ type: 'sse', url: 'http://search:3510' })
    expect(withUpstreamOverride(remote, env)).toBe(remote)
    expect(withUpstreamOverride(stdio, env)).toBe(stdio)
    expect(withUpstreamOverride(local, {})).toBe(local)
    expect(() => withUpstreamOverride(local, { AIRMCP_UPSTREAM_SEARCH_URL: 'search:3510' })).toThrow(/is not a URL. Try this/)
  })

  it('a gateway whose source says localhost reaches the server the environment names, and takes its token from AIRMCP_GATEWAY_TOKEN', async () => {
    const replica = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], {
      env: { REPLICA: 'moved', TRANSPORT: 'sse', AIRMCP_PORT: '0' },
    })
    // The source as `gateway sync` writes it: a port nothing listens on.
    process.env.AIRMCP_UPSTREAM_SEARCH_URL = new URL(replica.url).origin
    process.env.AIRMCP_GATEWAY_TOKEN = 'deploy-secret'
    const gateway = new Gateway({ name: 'env-gateway', port: 0, handleSignals: false, connectTimeout: 5000 })
    gateway.register({ id: 'search-1', name: 'search', transport: 'sse', connection: { type: 'sse', url: 'http://localhost:1' } })
    gateways.push(gateway)
    await gateway.start()
    expect(gateway.list()[0].status).toBe('connected')

    const refused = await fetch(gateway.url!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(refused.status).toBe(401)
    const client = new Client({ name: 'deploy-env-test', version: '0.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url!), { requestInit: { headers: { authorization: 'Bearer deploy-secret' } } }))
    try {
      expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('moved')
    } finally {
      await client.close()
    }
  })
})
