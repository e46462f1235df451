// Issue 27, items 2 and 3: the session model. Two 2025 clients at once, each on real servers from npm, direct
// and through a real gateway process: what one client does to its server session (a git working directory,
// simulated logging, a subscription, a resource its call created) stays with it, as it does direct, and the
// gateway's own upstream sessions end with the client sessions they serve.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, killAll, startListening, type Started } from '../helpers/processes.js'
import { auth, childrenOf, type HostileGateway, startGateway } from '../hostile/harness.js'
import { closeFidelityClients, connectDirect, connectThrough, type NpmServer, resolveEntry, startFidelityGateway } from './harness.js'

const dir = mkdtempSync(join(tmpdir(), 'airmcp-sessions-'))
const repo = join(dir, 'repo')
const MEMORY: NpmServer = {
  name: 'memory',
  entry: '@modelcontextprotocol/server-memory/dist/index.js',
  env: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') },
}
const GIT: NpmServer = { name: 'git', entry: '@cyanheads/git-mcp-server/index.js', env: { MCP_TRANSPORT_TYPE: 'stdio', MCP_LOG_LEVEL: 'error' } }
const EVERYTHING: NpmServer = { name: 'everything', entry: '@modelcontextprotocol/server-everything/dist/index.js', args: ['stdio'] }
/** What a client that may be asked for input declares (the clients of issue 27's item 2). */
const ASKABLE = { sampling: {}, elicitation: {} }

type Params = Record<string, unknown>

/** A 2025 client (SDK v1) that records the notifications the suite looks at. */
class Observed {
  readonly logs: string[] = []
  readonly updated: string[] = []
  listChanged = 0

  constructor(readonly client: Client) {
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void this.logs.push(String(n.params.data)))
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void this.updated.push(n.params.uri))
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void this.listChanged++)
  }

  call(name: string, args: Params = {}) {
    // A call that hangs fails in 20 s with the SDK's timeout error, well inside a test's time (the roots test retries).
    return this.client.callTool({ name, arguments: args }, undefined, { timeout: 20_000 }) as Promise<{
      content: { type: string; text?: string; uri?: string }[]
      isError?: boolean
    }>
  }
}

const clients: Client[] = []

function newClient(capabilities: Params): Client {
  const client = new Client({ name: 'sessions-suite', version: '0' }, { capabilities })
  clients.push(client)
  return client
}

/** A client on its own process of `server`, as a user would start it. */
async function direct(server: NpmServer, capabilities: Params = {}): Promise<Observed> {
  const client = newClient(capabilities)
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [resolveEntry(server.entry), ...(server.args ?? [])],
      env: { ...(process.env as Record<string, string>), ...server.env },
      stderr: 'ignore',
    }),
  )
  return new Observed(client)
}

/** A client on the gateway's Streamable HTTP front. */
async function through(gateway: HostileGateway, capabilities: Params = {}): Promise<Observed> {
  const client = newClient(capabilities)
  await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: auth } }))
  return new Observed(client)
}

/** A client on `url` (Streamable HTTP) that declares `roots` and answers roots/list with them. */
async function withRoots(url: string, roots: { uri: string; name: string }[], headers: Record<string, string> = {}): Promise<Observed> {
  const client = newClient({ roots: { listChanged: true } })
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots }))
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  return new Observed(client)
}

/** Client A and then client B ask the everything server for the roots it has of them (it keeps them per session). */
async function rootsTranscript(url: string, headers?: Record<string, string>) {
  const [a, b] = await Promise.all(['a', 'b'].map((name) => withRoots(url, [{ uri: `file://${join(dir, name)}`, name }], headers)))
  // The server asks for roots on the session's standalone stream a moment after it starts; a call made before
  // that stream is open asks again and its request is dropped (the SDK client opens the stream without waiting).
  // Each client waits for the server's "Roots updated" log first, as it would see it direct.
  await Promise.all(
    [a, b].map(async (o) => {
      await o.call('echo', { message: 'start' })
      await expect.poll(() => o.logs.some((log) => log.startsWith('Roots updated')), { timeout: 20_000 }).toBe(true)
    }),
  )
  const listed = async (o: Observed) => (await o.call('get-roots-list')).content.map((c) => c.text).join('\n')
  // A asks first: a server session shared with B would keep A's roots for B too.
  const seenByA = await listed(a)
  return { a: seenByA, b: await listed(b) }
}

/** What client A and then client B see of the git server when A set its working directory. */
async function gitTranscript(connect: () => Promise<Observed>) {
  const [a, b] = await Promise.all([connect(), connect()])
  const set = await a.call('git_set_working_dir', { path: repo })
  const [statusA, statusB] = await Promise.all([a.call('git_status'), b.call('git_status')])
  return { set: !set.isError, a: statusA.isError ? statusA.content[0].text : 'clean', b: statusB.isError ? statusB.content[0].text : 'clean' }
}

/** Client A subscribes to the knowledge graph and creates two entities; B creates one. The updates each got. */
async function memoryTranscript(connect: () => Promise<Observed>) {
  const [a, b] = await Promise.all([connect(), connect()])
  await a.client.subscribeResource({ uri: 'memory://knowledge-graph' })
  for (const name of ['first', 'second']) {
    await a.call('create_entities', { entities: [{ name: `${name}-${Math.random()}`, entityType: 'test', observations: [] }] })
  }
  await b.call('create_entities', { entities: [{ name: `b-${Math.random()}`, entityType: 'test', observations: [] }] })
  // The server sends the update before the call's answer; one more round trip on each client lets it land.
  await Promise.all([a.client.ping(), b.client.ping()])
  return { a: a.updated.length, b: b.updated.length }
}

/** Client A gzips a file into a session resource: the link it got, and what A and B then find in their lists. */
async function resourceTranscript(connect: () => Promise<Observed>) {
  const [a, b] = await Promise.all([connect(), connect()])
  const data = `data:text/plain;base64,${Buffer.from('hello sessions').toString('base64')}`
  const made = await a.call('gzip-file-as-resource', { name: `made-${Math.random()}.gz`, data })
  const uri = made.content.find((c) => c.type === 'resource_link')!.uri!
  await expect.poll(() => a.listChanged).toBeGreaterThan(0)
  const listedBy = async (o: Observed) => (await o.client.listResources()).resources.some((r) => r.uri === uri)
  const read = await a.client.readResource({ uri }).then(
    (r) => (r.contents[0] as { blob?: string }).blob !== undefined,
    (e: Error) => e.message,
  )
  const readByB = await b.client.readResource({ uri }).then(
    () => 'read',
    () => 'not found',
  )
  return { listedByA: await listedBy(a), read, listedByB: await listedBy(b), readByB, listChangedB: b.listChanged }
}

let gateway: HostileGateway

beforeAll(async () => {
  mkdirSync(repo)
  writeFileSync(join(repo, 'a.txt'), 'a\n')
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' })
  git('init', '-q')
  git('-c', 'user.email=suite@example.com', '-c', 'user.name=suite', 'commit', '-q', '--allow-empty', '-m', 'init')
  gateway = await startFidelityGateway([MEMORY, GIT, EVERYTHING])
}, 120_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await closeFidelityClients()
  await killAll()
  rmSync(dir, { recursive: true, force: true })
})

describe('each 2025 client session has its own upstream session (stdio servers)', () => {
  it("A's git working directory never reaches B", async () => {
    const seen = await gitTranscript(() => direct(GIT))
    expect(seen.b).toMatch(/No session working directory set/)
    expect(await gitTranscript(() => through(gateway))).toEqual(seen)
  }, 60_000)

  it("2026 clients use the registration's shared upstream session, which no 2025 client's state reaches", async () => {
    const status = async (client: { callTool(p: { name: string; arguments: Params }): Promise<Params> }) =>
      ((await client.callTool({ name: 'git_status', arguments: {} })).content as { text: string }[])[0].text
    const seen = await status(await connectDirect(GIT, { era: '2026' }))
    expect(seen).toMatch(/No session working directory set/)
    // The 2025 client of the test above set its working directory on its own session.
    expect(await status(await connectThrough(gateway, { era: '2026' }))).toBe(seen)
  }, 60_000)

  it("A's subscription gets its resources/updated, from its own calls only, when A may be asked for input", async () => {
    const seen = await memoryTranscript(() => direct(MEMORY, ASKABLE))
    expect(seen).toEqual({ a: 2, b: 0 })
    expect(await memoryTranscript(() => through(gateway, ASKABLE))).toEqual(seen)
  }, 60_000)

  it('a resource a tool created is listed and readable for the client that created it, and for no other', async () => {
    const seen = await resourceTranscript(() => direct(EVERYTHING, ASKABLE))
    expect(seen).toEqual({ listedByA: true, read: true, listedByB: false, readByB: 'not found', listChangedB: 0 })
    expect(await resourceTranscript(() => through(gateway, ASKABLE))).toEqual(seen)
  }, 60_000)

  it("a session's DELETE ends its own process at once", async () => {
    const marker = resolveEntry(MEMORY.entry)
    const before = childrenOf(gateway.pid, marker)
    const session = await through(gateway)
    await session.call('read_graph')
    expect(childrenOf(gateway.pid, marker)).toBe(before + 1)
    await (session.client.transport as StreamableHTTPClientTransport).terminateSession()
    await expect.poll(() => childrenOf(gateway.pid, marker), { timeout: 10_000 }).toBe(before)
  }, 60_000)
})

describe('an HTTP upstream: each client session has its own MCP session on the same server', () => {
  let everything: Started
  let overHttp: HostileGateway

  beforeAll(async () => {
    const port = await freePort()
    everything = await startListening([resolveEntry(EVERYTHING.entry), 'streamableHttp'], {
      env: { PORT: String(port) },
      pattern: /listening on port (\d+)/,
    })
    overHttp = await startGateway({}, [{ id: 'everything-1', name: 'everything', connection: { type: 'http', url: `http://127.0.0.1:${everything.url}/mcp` } }])
  }, 60_000)

  it("simulated logging switched on by A logs to A, never to B", async () => {
    await expect.poll(async () => (await overHttp.health()).servers[0].status, { timeout: 30_000 }).toBe('connected')
    const [a, b] = await Promise.all([through(overHttp), through(overHttp)])
    await Promise.all([a.client.setLoggingLevel('debug'), b.client.setLoggingLevel('debug')])
    // B uses the server too (its session there is opened on its first request).
    expect((await b.call('echo', { message: 'b' })).isError).toBeFalsy()
    expect((await a.call('toggle-simulated-logging')).isError).toBeFalsy()
    // One log at once, then one every 5 s: by A's second, B would have had the first.
    await expect.poll(() => a.logs.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2)
    await b.client.ping()
    expect(b.logs).toEqual([])
    expect((await overHttp.health()).servers[0]).toMatchObject({ ownConnections: 2 })
  }, 60_000)

  it("each client's roots reach its own session of the server, as direct: A's never reach B", { timeout: 90_000, retry: 2 }, async () => {
    await expect.poll(async () => (await overHttp.health()).servers[0].status, { timeout: 30_000 }).toBe('connected')
    const seen = await rootsTranscript(overHttp.url, auth)
    expect(seen).toEqual(await rootsTranscript(`http://127.0.0.1:${everything.url}/mcp`))
    expect(seen.a).toContain(`file://${join(dir, 'a')}`)
    expect(seen.b).toContain(`file://${join(dir, 'b')}`)
    expect(seen.b).not.toContain(`file://${join(dir, 'a')}`)
    // The everything server asks a new session for its roots once, 350 ms after it starts, on the session's
    // GET stream; on a loaded machine that stream may not be open yet (the SDK client and the gateway open it
    // without waiting), and the server waits 60 s for an answer that never comes: that run is retried.
  })
})

describe('own upstream sessions end with their client sessions', () => {
  const marker = resolveEntry(MEMORY.entry)
  let small: HostileGateway

  beforeAll(async () => {
    small = await startFidelityGateway([MEMORY], { sessionIdleMs: 2000, maxOwnConnections: 9 })
  }, 60_000)

  const ownSessionsMetric = async () => {
    const body = await (await fetch(new URL('/metrics', small.url), { headers: auth })).text()
    return Number(/^airmcp_upstream_own_sessions\{[^}]*upstream="memory"[^}]*\} (\d+)$/m.exec(body)?.[1])
  }

  it('9 sessions closed without DELETE leave no process after sessionIdleMs; past maxOwnConnections a clear error', async () => {
    const sessions = await Promise.all(Array.from({ length: 9 }, () => through(small)))
    await Promise.all(sessions.map((s) => s.call('read_graph')))
    expect(childrenOf(small.pid, marker)).toBe(10)
    // The calls count as the registration's, wherever they ran.
    expect((await small.health()).servers[0]).toMatchObject({ ownConnections: 9, calls: 9 })
    expect(await ownSessionsMetric()).toBe(9)

    const tenth = await through(small)
    await expect(tenth.call('read_graph')).rejects.toThrow(/already has 9 client sessions of its own open, its cap \(maxOwnConnections\)/)

    // Closed without DELETE: the front's idle timeout ends the sessions, and their processes with them.
    await Promise.all([...sessions, tenth].map((s) => s.client.close()))
    await expect.poll(() => childrenOf(small.pid, marker), { timeout: 30_000 }).toBe(1)
    expect((await small.health()).servers[0]).toMatchObject({ ownConnections: 0 })
    expect(await ownSessionsMetric()).toBe(0)
  }, 90_000)
})
