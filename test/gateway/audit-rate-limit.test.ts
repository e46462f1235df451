// Audit lines and rate limits per principal, against gateway processes with real SDK clients of both eras
// and two static-token clients.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, type Started } from '../helpers/processes.js'
import { startGateway, startUpstream, type HostileGateway } from '../hostile/harness.js'

const ALICE = 'alice-secret-token'
const BOB = 'bob-secret-token'
const CAROL = 'carol-secret-token'
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`

let upstream: Started
let streamGateway: HostileGateway
let fileGateway: HostileGateway
let dir: string
const clients: { close(): Promise<unknown> }[] = []

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function legacyClient(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'audit-test', version: '1' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: bearer(token) } }))
  clients.push(client)
  return client
}

async function sseClient(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'audit-test-sse', version: '1' })
  const withToken: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...bearer(token) } })
  await client.connect(new SSEClientTransport(new URL('/sse', url), { fetch: withToken, eventSourceInit: { fetch: withToken } }))
  clients.push(client)
  return client
}

async function modernClient(url: string, token: string): Promise<ModernClient> {
  const client = new ModernClient({ name: 'audit-test-2026', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
  await client.connect(new ModernTransport(new URL(url), { requestInit: { headers: bearer(token) } }))
  clients.push(client)
  return client
}

type AuditLine = Record<string, unknown>

/** The audit lines a gateway wrote on its log stream so far. */
function streamLines(gateway: HostileGateway): AuditLine[] {
  return gateway
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"msg":"audit"'))
    .map((line) => JSON.parse(line) as AuditLine)
}

function fileLines(): AuditLine[] {
  const text = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditLine)
}

async function rejection(run: () => Promise<unknown>): Promise<McpError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(Error)
  return error as McpError
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airmcp-audit-'))
  upstream = await startUpstream('http')
  const registrations = [{ id: 'echo-1', name: 'hostile', connection: { type: 'http' as const, url: upstream.url }, tools: { prefix: 'up_' } }]
  const policies = [
    { name: 'alice', token: ALICE, tools: { allow: ['up_echo', 'up_big'] } },
    { name: 'bob', token: BOB },
  ]
  ;[streamGateway, fileGateway] = await Promise.all([
    startGateway({ audit: true, clients: policies, maxResultBytes: 1024 }, registrations),
    startGateway(
      {
        audit: { file: join(dir, 'audit.jsonl'), arguments: true },
        rateLimit: { perMinute: 6000 },
        clients: [...policies, { name: 'carol', token: CAROL, rateLimit: { perMinute: 1, burst: 3 } }],
      },
      registrations,
    ),
  ])
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await killAll()
  rmSync(dir, { recursive: true, force: true })
})

describe('audit log', () => {
  it('writes one line per allowed, denied and failed call, field by field, without arguments by default', async () => {
    const alice = await legacyClient(streamGateway.url, ALICE)
    const sessionId = (alice.transport as StreamableHTTPClientTransport).sessionId
    const ok = await alice.callTool({ name: 'up_echo', arguments: { text: 'hello', password: 'hunter2' }, _meta: { traceparent: TRACEPARENT } })
    expect(ok.content).toEqual([{ type: 'text', text: 'hello' }])
    const denied = await rejection(() => alice.callTool({ name: 'up_pid', arguments: {} }))
    expect(denied.code).toBe(-32602)
    // A result past maxResultBytes: the tool's failure, reported as an isError result.
    const failed = await alice.callTool({ name: 'up_big', arguments: { mb: 1 } })
    expect(failed.isError).toBe(true)
    const bob = await legacyClient(streamGateway.url, BOB)
    await bob.callTool({ name: 'up_pid', arguments: {} })

    await expect.poll(() => streamLines(streamGateway).length).toBe(4)
    const [allowedLine, deniedLine, failedLine, bobLine] = streamLines(streamGateway)
    expect(allowedLine).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      msg: 'audit',
      principal: 'alice',
      method: 'tools/call',
      name: 'up_echo',
      server: 'hostile',
      upstream: 'echo-1',
      upstream_name: 'echo',
      outcome: 'ok',
      duration_ms: expect.any(Number),
      request_id: expect.any(Number),
      session_id: sessionId,
      trace_id: TRACE_ID,
    })
    expect(deniedLine).toEqual({
      time: expect.any(String),
      level: 'info',
      msg: 'audit',
      principal: 'alice',
      method: 'tools/call',
      name: 'up_pid',
      outcome: 'denied',
      duration_ms: expect.any(Number),
      request_id: expect.any(Number),
      session_id: sessionId,
    })
    expect(failedLine).toMatchObject({ principal: 'alice', name: 'up_big', upstream: 'echo-1', outcome: 'error', error: 'tool_error' })
    expect(bobLine).toMatchObject({ principal: 'bob', name: 'up_pid', outcome: 'ok', server: 'hostile' })
    expect(streamGateway.stderr()).not.toContain('hunter2')
    expect(streamGateway.stderr()).not.toContain('"arguments"')
  })

  it('names the gateway-wide token "admin", audits 2026 requests and the legacy /sse front', async () => {
    const before = streamLines(streamGateway).length
    const admin = await modernClient(streamGateway.url, 'hostile-suite-token')
    await admin.callTool({ name: 'up_echo', arguments: { text: 'modern' } })
    const sse = await sseClient(streamGateway.url, BOB)
    await sse.callTool({ name: 'up_echo', arguments: { text: 'sse' } })
    await expect.poll(() => streamLines(streamGateway).length).toBe(before + 2)
    const [modernLine, sseLine] = streamLines(streamGateway).slice(before)
    expect(modernLine).toMatchObject({ principal: 'admin', method: 'tools/call', name: 'up_echo', outcome: 'ok', upstream: 'echo-1', request_id: expect.anything() })
    expect(modernLine.session_id).toBeUndefined()
    expect(sseLine).toMatchObject({ principal: 'bob', name: 'up_echo', outcome: 'ok', session_id: expect.any(String) })
  })

  it('appends to a file, with the arguments redacted when asked', async () => {
    const bob = await legacyClient(fileGateway.url, BOB)
    await bob.callTool({
      name: 'up_echo',
      arguments: { text: `call https://user:pw@example.com/x?key=k3y and ${ALICE}`, apiKey: 'abc123', nested: { password: 'hunter2', keep: 1 } },
    })
    await expect.poll(() => fileLines().length).toBe(1)
    const [line] = fileLines()
    expect(line).toMatchObject({ principal: 'bob', method: 'tools/call', name: 'up_echo', outcome: 'ok' })
    expect(line.arguments).toEqual({ text: 'call https://example.com/x?key=*** and ***', apiKey: '***', nested: { password: '***', keep: 1 } })
    const raw = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    for (const secret of ['hunter2', 'abc123', 'k3y', ALICE, 'user:pw']) expect(raw).not.toContain(secret)
  })
})

describe('rate limits per principal', () => {
  it('refuses a principal past its limit with the retry error while another keeps calling, in both eras', async () => {
    const carol = await legacyClient(fileGateway.url, CAROL)
    const carolModern = await modernClient(fileGateway.url, CAROL)
    const bob = await legacyClient(fileGateway.url, BOB)
    const carolResults = await Promise.all([
      ...Array.from({ length: 3 }, (_, i) => carol.callTool({ name: 'up_echo', arguments: { text: `c${i}` } }).then(() => 'ok', (e: McpError) => e)),
      carolModern.callTool({ name: 'up_echo', arguments: { text: 'late' } }).then(() => 'ok', (e: McpError) => e),
    ])
    const bobResults = await Promise.all(Array.from({ length: 40 }, (_, i) => bob.callTool({ name: 'up_echo', arguments: { text: `b${i}` } })))
    expect(bobResults.map((r) => (r.content as { text: string }[])[0].text)).toEqual(Array.from({ length: 40 }, (_, i) => `b${i}`))
    // A burst of 3: exactly one of carol's four calls is refused (which one depends on arrival).
    const refused = carolResults.filter((r) => r !== 'ok') as Error[]
    expect(refused).toHaveLength(1)
    const error = refused[0] as Error & { code: number; data?: { retryAfterMs?: number } }
    expect(error.code).toBe(-32030)
    expect(error.message).toMatch(/Rate limit for carol reached\. Try this: retry after \d+ s\./)
    expect(error.data?.retryAfterMs).toBeGreaterThan(0)
    expect(error.data?.retryAfterMs).toBeLessThanOrEqual(60_000)
    // Still refused on the legacy session, on a 2026 request and on the /sse front: the bucket is the principal's.
    expect((await rejection(() => carol.callTool({ name: 'up_echo', arguments: { text: 'again' } }))).code).toBe(-32030)
    const modernRefused = (await rejection(() => carolModern.callTool({ name: 'up_echo', arguments: { text: 'again' } }))) as Error & { code: number; data?: { retryAfterMs?: number } }
    expect(modernRefused.code).toBe(-32030)
    expect(modernRefused.message).toMatch(/Rate limit for carol reached\. Try this: retry after \d+ s\./)
    expect(modernRefused.data?.retryAfterMs).toBeGreaterThan(0)
    const carolSse = await sseClient(fileGateway.url, CAROL)
    expect((await rejection(() => carolSse.callTool({ name: 'up_echo', arguments: { text: 'sse' } }))).message).toContain('Rate limit for carol')
    await expect.poll(() => fileLines().filter((l) => l.principal === 'carol' && l.outcome === 'rate_limited').length).toBe(4)
    expect(fileLines().filter((l) => l.principal === 'bob' && l.outcome !== 'ok')).toEqual([])
  })
})

describe('options', () => {
  it('refuses a malformed audit or rateLimit option with a clear error', async () => {
    const { Gateway } = await import('airmcp/gateway')
    expect(() => new Gateway({ name: 'g', audit: { file: '' } })).toThrow(/audit must be true, false or \{ file\?: string, arguments\?: boolean \}\. Try this:/)
    expect(() => new Gateway({ name: 'g', rateLimit: { perMinute: Number.NaN } })).toThrow(/rateLimit must be \{ perMinute, burst\? \}.*Try this:/)
    expect(
      () => new Gateway({ name: 'g', clients: [{ name: 'a', token: 'aaaa', rateLimit: { perMinute: 0 } }] }),
    ).toThrow(/clients\[0\]\.rateLimit must be/)
    expect(() => new Gateway({ name: 'g', audit: { file: join(dir, 'missing', 'audit.jsonl') } })).toThrow(
      /Cannot open the audit file ".*missing\/audit\.jsonl" \(ENOENT\)\. Try this:/,
    )
  })
})
