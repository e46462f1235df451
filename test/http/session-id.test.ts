import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { defineServer, defineTool, type McpServer } from 'airmcp'
import { SessionIds } from '../../src/http/session-id.js'
import { freePort } from '../helpers/processes.js'

const KEY = 'replica-test-key-0123456789abcdef'

// What the session knows about its client: proves a rebuilt session has the client's initialize data.
const whoami = defineTool('whoami', {
  handler: async (_args, ctx) => {
    await ctx.log('info', 'asked who')
    return { sessionId: ctx.sessionId, capabilities: ctx.clientCapabilities }
  },
})

// Two rounds for a 2026 client: the sealed requestState of round one must open on the other replica.
const greet = defineTool('greet', {
  handler: async (_args, ctx) => {
    const answer = await ctx.elicit({ message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } })
    return `hello ${(answer as { content?: { name?: string } }).content?.name}`
  },
})

function replica(port = 0): McpServer {
  return defineServer({
    name: 'replica',
    version: '1.0.0',
    transport: { type: 'http', port },
    tools: [whoami, greet],
    sessionKey: KEY,
    replicaUrl: port ? `http://127.0.0.1:${port}/mcp` : undefined,
    handleSignals: false,
  })
}

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: { elicitation: {} }, clientInfo: { name: 'raw', version: '1' } },
}
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }

async function post(url: string, body: unknown, sessionId?: string, method = 'POST') {
  const res = await fetch(url, {
    method,
    headers: { ...HEADERS, 'mcp-protocol-version': '2025-11-25', ...(sessionId ? { 'mcp-session-id': sessionId } : {}) },
    body: method === 'POST' ? JSON.stringify(body) : undefined,
  })
  const text = await res.text()
  return { status: res.status, text, sessionId: res.headers.get('mcp-session-id') ?? undefined }
}

const callWhoami = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'whoami', arguments: {} } })

describe('signed 2025 session ids', () => {
  let servers: McpServer[] = []
  let a = ''
  let b = ''
  beforeAll(async () => {
    // Fixed ports so each replica can name itself (replicaUrl) to the other.
    servers = [replica(await freePort()), replica(await freePort())]
    await Promise.all(servers.map((s) => s.start()))
    ;[a, b] = servers.map((s) => s.url!)
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
  })

  it('a session begun on one replica is served by another with the same key, client data included', async () => {
    // A real SDK client whose requests alternate between the two replicas: a load balancer without affinity.
    let turn = 0
    const alternating: typeof fetch = (input, init) => {
      const target = turn++ % 2 === 0 ? a : b
      return fetch(target, init)
    }
    const client = new Client({ name: 'alternating', version: '2.0.0' }, { capabilities: { elicitation: {}, roots: {} } })
    const logs: string[] = []
    client.setNotificationHandler('notifications/message', (n) => void logs.push(String(n.params.data)))
    await client.connect(new StreamableHTTPClientTransport(new URL(a), { fetch: alternating }))
    const results = []
    for (let i = 0; i < 4; i++) results.push(await client.callTool({ name: 'whoami', arguments: {} }))
    for (const result of results) {
      const seen = JSON.parse((result.content as { text: string }[])[0].text)
      expect(seen.sessionId).toBe(client.transport?.sessionId)
      expect(Object.keys(seen.capabilities).sort()).toEqual(['elicitation', 'roots'])
    }
    expect(logs).toEqual(['asked who', 'asked who', 'asked who', 'asked who'])
    await client.close()
  })

  it("a 2025 client's answer to an elicitation reaches the replica that asked, whichever one it lands on", async () => {
    const posts: string[] = []
    let turn = 0
    const alternating: typeof fetch = (_input, init) => {
      const target = turn++ % 2 === 0 ? a : b
      if (init?.method === 'POST') posts.push(`${target === a ? 'a' : 'b'}:${String(init.body).slice(0, 60)}`)
      return fetch(target, init)
    }
    const client = new Client({ name: 'alternating-2025', version: '1.0.0' }, { capabilities: { elicitation: {} } })
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Grace' } }))
    await client.connect(new StreamableHTTPClientTransport(new URL(a), { fetch: alternating }))
    for (let i = 0; i < 2; i++) {
      const result = await client.callTool({ name: 'greet', arguments: {} })
      expect((result.content as { text: string }[])[0].text).toBe('hello Grace')
    }
    // Some answer went to the replica that did not ask (the calls alternate), and was passed back.
    const crossed = posts.filter((p, i) => p.includes('"result"') && posts[i - 1]?.includes('tools/call') && posts[i - 1][0] !== p[0])
    expect(posts.filter((p) => p.includes('"result"')).length).toBe(2)
    expect(crossed.length).toBeGreaterThan(0)
    await client.close()
  })

  it('a 2026 multi-round call continues on the other replica (requestState sealed with a key derived from sessionKey)', async () => {
    const targets: string[] = []
    let turn = 0
    const alternating: typeof fetch = (_input, init) => {
      const target = turn++ % 2 === 0 ? a : b
      if (typeof init?.body === 'string' && init.body.includes('"tools/call"')) targets.push(target)
      return fetch(target, init)
    }
    const client = new Client(
      { name: 'alternating-2026', version: '1.0.0' },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    )
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }))
    await client.connect(new StreamableHTTPClientTransport(new URL(a), { fetch: alternating }))
    for (let i = 0; i < 2; i++) {
      const result = await client.callTool({ name: 'greet', arguments: {} })
      expect((result.content as { text: string }[])[0].text).toBe('hello Ada')
    }
    // Each call took two rounds, and some second round reached the replica that did not mint its state.
    expect(targets.length).toBe(4)
    expect(targets[1]).not.toBe(targets[0])
    expect(targets[3]).not.toBe(targets[2])
    await client.close()
  })

  it('refuses tampered, expired and foreign-key ids with 404, and keeps serving', async () => {
    const begun = await post(a, INIT)
    expect(begun.status).toBe(200)
    const valid = begun.sessionId!
    const [prefix, payload, mac] = valid.split('.')
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    const forged = Buffer.from(JSON.stringify({ ...claims, c: { sampling: {} } })).toString('base64url')
    const tampered = [`${prefix}.${forged}.${mac}`, `${valid.slice(0, -2)}xx`, `${prefix}.${payload}`, 'not-an-id']
    const expired = new SessionIds(KEY).mint(INIT.params, Date.now() - 48 * 3600_000)
    const foreign = new SessionIds('some-other-key-0123456789abcdefgh').mint(INIT.params)
    for (const id of [...tampered, expired, foreign]) {
      for (const url of [a, b]) {
        const refused = await post(url, callWhoami(2), id)
        expect(refused.status, id).toBe(404)
        expect(refused.text).toMatch(/not found/)
      }
    }
    // The same key with a fresh expiry is honoured, and the valid session still works on both replicas.
    const fresh = new SessionIds(KEY).mint(INIT.params)
    expect((await post(b, callWhoami(3), fresh)).status).toBe(200)
    for (const url of [a, b]) expect((await post(url, callWhoami(4), valid)).text).toContain('elicitation')
  })

  it('a DELETEd session stays dead on the replica that saw the DELETE', async () => {
    const begun = await post(a, INIT)
    const id = begun.sessionId!
    expect((await post(b, callWhoami(2), id)).status).toBe(200)
    expect((await post(a, undefined, id, 'DELETE')).status).toBe(200)
    expect((await post(a, callWhoami(3), id)).status).toBe(404)
    // A DELETE that reaches a replica which never held the session ends it there too.
    const other = (await post(a, INIT)).sessionId!
    expect((await post(b, undefined, other, 'DELETE')).status).toBe(200)
    expect((await post(b, callWhoami(4), other)).status).toBe(404)
  })
})

describe('session id codec', () => {
  it('ids are unique, verify under their key only, and expire', () => {
    const ids = new SessionIds(KEY, 1000)
    const now = Date.now()
    const one = ids.mint(INIT.params, now)
    expect(one).not.toBe(ids.mint(INIT.params, now))
    expect(one).toMatch(/^[\x21-\x7e]+$/)
    expect(ids.verify(one, now)?.clientInfo).toEqual({ name: 'raw', version: '1' })
    expect(ids.verify(one, now + 1001)).toBeUndefined()
    expect(new SessionIds('another-key').verify(one, now)).toBeUndefined()
    expect(new SessionIds(undefined).verify(one, now)).toBeUndefined()
  })
  it('oversized capabilities keep their names and the id stays under 4 KiB', () => {
    const ids = new SessionIds(KEY)
    const id = ids.mint({ ...INIT.params, capabilities: { experimental: { blob: 'x'.repeat(10_000) }, sampling: { tools: {} } } })
    expect(id.length).toBeLessThan(4096)
    expect(ids.verify(id)?.capabilities).toEqual({ experimental: {}, sampling: {} })
  })
})
