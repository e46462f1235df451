// The fidelity suite's harness: a real MCP server from npm (stdio) reached directly and through a real
// gateway process, by a 2025 client (SDK v1) and a 2026 client (SDK v2), and their transcripts compared
// after normalising what the gateway changes on purpose (tool-name prefixes are not used here).
import { createRequire } from 'node:module'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport as LegacyStdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import type { GatewayOptions, Registration } from 'airmcp/gateway'
import { auth, type HostileGateway, startGateway } from '../hostile/harness.js'

/** `2025`: an SDK v1 client on a 2025-11-25 session. `2026`: an SDK v2 client pinned to 2026-07-28 (auto when direct to a 2025-only server). */
export type ClientEra = '2025' | '2026'

/** A server from npm, started over stdio: its package's bin file and arguments. */
export interface NpmServer {
  /** The registration name through the gateway (tools keep their names: no prefix). */
  name: string
  /** The package's entry file, resolved from node_modules (e.g. '@modelcontextprotocol/server-everything/dist/index.js'). */
  entry: string
  args?: string[]
  env?: Record<string, string>
  cwd?: string
}

/** What the client declares and answers, for either era. */
export interface ClientSetup {
  era: ClientEra
  /** Declared capabilities (default none). `roots` is added when `roots` is given. */
  capabilities?: Record<string, unknown>
  /** Roots the client answers `roots/list` with (declares `roots: { listChanged: true }`). */
  roots?: { uri: string; name?: string }[]
  /** Answers to elicitation/create (default: decline) and sampling/createMessage (default: a fixed text). */
  elicit?: (params: Record<string, unknown>) => Record<string, unknown>
  sample?: (params: Record<string, unknown>) => Record<string, unknown>
}

type Params = Record<string, unknown>

/** The client calls the suite makes, the same for both SDKs. */
export interface FidelityClient {
  era: ClientEra
  listTools(): Promise<{ tools: Params[] }>
  callTool(params: { name: string; arguments?: Params }, options?: { timeout?: number; onprogress?: (p: Params) => void; resetTimeoutOnProgress?: boolean }): Promise<Params>
  listResources(): Promise<{ resources: Params[] }>
  listResourceTemplates(): Promise<{ resourceTemplates: Params[] }>
  readResource(params: { uri: string }): Promise<Params>
  listPrompts(): Promise<{ prompts: Params[] }>
  getPrompt(params: { name: string; arguments?: Record<string, string> }): Promise<Params>
  /** The server's instructions as the client saw them (initialize or server/discover). */
  instructions(): string | undefined
  /** Changes the roots answered from now on and, on a 2025 session, says so (`notifications/roots/list_changed`). */
  setRoots(roots: { uri: string; name?: string }[]): Promise<void>
  close(): Promise<void>
}

const require = createRequire(import.meta.url)
const open = new Set<FidelityClient>()

/** The absolute path of an npm server's entry file. */
export function resolveEntry(entry: string): string {
  return require.resolve(entry)
}

/** The gateway registration of an npm server (stdio, launched by the gateway). */
export function registrationOf(server: NpmServer): Registration {
  return {
    id: server.name,
    name: server.name,
    connection: {
      type: 'stdio',
      command: 'node',
      args: [resolveEntry(server.entry), ...(server.args ?? [])],
      ...(server.env ? { env: server.env } : {}),
      ...(server.cwd ? { cwd: server.cwd } : {}),
    },
  }
}

function capabilitiesOf(setup: ClientSetup): Params {
  return { ...setup.capabilities, ...(setup.roots ? { roots: { listChanged: true } } : {}) }
}

const declineElicitation = () => ({ action: 'decline' })
const fixedSample = () => ({ role: 'assistant', model: 'fidelity-model', content: { type: 'text', text: 'sampled' } })

/** Wraps either SDK's client in the one interface (their method names agree; handlers and options differ). */
function wrap(era: ClientEra, client: LegacyClient | ModernClient, setup: ClientSetup): FidelityClient {
  let roots = setup.roots ?? []
  const elicit = setup.elicit ?? declineElicitation
  const sample = setup.sample ?? fixedSample
  if (client instanceof LegacyClient) {
    if (setup.roots) client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots }))
    if (setup.capabilities?.elicitation) client.setRequestHandler(ElicitRequestSchema, async (r) => elicit(r.params) as never)
    if (setup.capabilities?.sampling) client.setRequestHandler(CreateMessageRequestSchema, async (r) => sample(r.params) as never)
  } else {
    if (setup.roots) client.setRequestHandler('roots/list', async () => ({ roots }))
    if (setup.capabilities?.elicitation) client.setRequestHandler('elicitation/create', async (r) => elicit(r.params as Params) as never)
    if (setup.capabilities?.sampling) client.setRequestHandler('sampling/createMessage', async (r) => sample(r.params as Params) as never)
  }
  const c = client as unknown as {
    listTools(): Promise<{ tools: Params[] }>
    callTool(params: unknown, schema?: unknown, options?: unknown): Promise<Params>
    listResources(): Promise<{ resources: Params[] }>
    listResourceTemplates(): Promise<{ resourceTemplates: Params[] }>
    readResource(params: unknown): Promise<Params>
    listPrompts(): Promise<{ prompts: Params[] }>
    getPrompt(params: unknown): Promise<Params>
    getInstructions(): string | undefined
    getDiscoverResult?(): { instructions?: string } | undefined
    sendRootsListChanged(): Promise<void>
    getProtocolEra?(): string | undefined
    close(): Promise<void>
  }
  const wrapped: FidelityClient = {
    era,
    listTools: () => c.listTools(),
    // v1 takes (params, resultSchema, options); v2 takes (params, options).
    callTool: (params, options) => (client instanceof LegacyClient ? c.callTool(params, undefined, options) : c.callTool(params, options)),
    listResources: () => c.listResources(),
    listResourceTemplates: () => c.listResourceTemplates(),
    readResource: (params) => c.readResource(params),
    listPrompts: () => c.listPrompts(),
    getPrompt: (params) => c.getPrompt(params),
    instructions: () => c.getInstructions() ?? c.getDiscoverResult?.()?.instructions,
    async setRoots(next) {
      roots = next
      // 2026-07-28 has no such notification: a server asks for roots with each request that needs them.
      if (c.getProtocolEra?.() !== 'modern') await c.sendRootsListChanged()
    },
    close: async () => {
      open.delete(wrapped)
      await c.close().catch(() => {})
    },
  }
  open.add(wrapped)
  return wrapped
}

function newClient(setup: ClientSetup, direct: boolean): LegacyClient | ModernClient {
  const info = { name: `fidelity-${setup.era}`, version: '1.0.0' }
  if (setup.era === '2025') return new LegacyClient(info, { capabilities: capabilitiesOf(setup) })
  // Direct to a 2025-only server, a 2026 client negotiates down (what a user of the SDK gets); through the gateway it is pinned.
  return new ModernClient(info, {
    capabilities: capabilitiesOf(setup),
    versionNegotiation: { mode: direct ? 'auto' : { pin: '2026-07-28' } },
  } as never)
}

/** A client connected straight to the server (a process of its own, stopped with the client). */
export async function connectDirect(server: NpmServer, setup: ClientSetup): Promise<FidelityClient> {
  const params = {
    command: process.execPath,
    args: [resolveEntry(server.entry), ...(server.args ?? [])],
    env: { ...(process.env as Record<string, string>), ...server.env },
    ...(server.cwd ? { cwd: server.cwd } : {}),
    stderr: 'ignore' as const,
  }
  const client = newClient(setup, true)
  if (client instanceof LegacyClient) await client.connect(new LegacyStdioTransport(params))
  else await client.connect(new ModernStdioTransport(params) as never)
  return wrap(setup.era, client, setup)
}

/** A client connected to the gateway's Streamable HTTP front (with its token). */
export async function connectThrough(gateway: HostileGateway, setup: ClientSetup): Promise<FidelityClient> {
  const url = new URL(gateway.url)
  const client = newClient(setup, false)
  if (client instanceof LegacyClient) await client.connect(new LegacyHttpTransport(url, { requestInit: { headers: auth } }))
  else await client.connect(new ModernHttpTransport(url, { requestInit: { headers: auth } }) as never)
  return wrap(setup.era, client, setup)
}

/** A gateway process over the given npm servers (or other registrations), resolved once every server is connected. */
export async function startFidelityGateway(servers: Array<NpmServer | Registration>, options: Partial<GatewayOptions> = {}): Promise<HostileGateway> {
  const registrations = servers.map((server) => ('connection' in server ? server : registrationOf(server)))
  const gateway = await startGateway({ connectTimeout: 60_000, ...options }, registrations)
  // Readiness from the gateway itself (its /health), checked every 100 ms for up to a minute.
  for (let checks = 0; checks < 600; checks++) {
    if ((await gateway.health()).servers.every((s) => s.status === 'connected')) return gateway
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`the gateway's servers did not all connect: ${JSON.stringify((await gateway.health()).servers)}`)
}

/** Closes every client the harness connected (direct ones stop their server process). */
export async function closeFidelityClients(): Promise<void> {
  await Promise.allSettled([...open].map((client) => client.close()))
}

// ---- transcripts ----

/** One step of a transcript: a request and what came back (the result, or the error's code and text). */
export interface Step {
  request: string
  outcome: unknown
}

/** An error as the client saw it, without the SDK's "MCP error <code>: " prefix (which it may add once or twice). */
export function errorOutcome(error: unknown): { error: { code?: unknown; message: string } } {
  const message = String((error as Error)?.message ?? error).replace(/^(MCP error -?\d+: )+/, '')
  return { error: { code: (error as { code?: unknown })?.code, message } }
}

/** Runs one request and records its outcome, an error included. */
export async function step(request: string, run: () => Promise<unknown>, scrub?: Scrub): Promise<Step> {
  try {
    return { request, outcome: normalise(await run(), scrub) }
  } catch (error) {
    return { request, outcome: errorOutcome(error) }
  }
}

/** Values that differ between any two runs of the same server and say nothing about the hop. */
export type Scrub = (value: unknown, path: string[]) => unknown

/**
 * A result as compared: `_meta` keys of the protocol envelope dropped (the gateway names itself there),
 * lists sorted by name or URI (an order is not a promise either side makes), `scrub` applied to each value.
 */
export function normalise(value: unknown, scrub?: Scrub, path: string[] = []): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item, i) => normalise(item, scrub, [...path, String(i)]))
    const key = (item: unknown) => (item as { name?: string; uri?: string; uriTemplate?: string } | null)?.name ?? (item as { uri?: string })?.uri ?? (item as { uriTemplate?: string })?.uriTemplate
    return items.every((item) => typeof key(item) === 'string') ? items.sort((a, b) => (key(a)! < key(b)! ? -1 : 1)) : items
  }
  if (value && typeof value === 'object') {
    const out: Params = {}
    for (const [k, v] of Object.entries(value)) {
      if (k === '_meta') {
        const meta = Object.fromEntries(Object.entries(v as Params).filter(([mk]) => !mk.startsWith('io.modelcontextprotocol/')))
        if (Object.keys(meta).length) out[k] = normalise(meta, scrub, [...path, k])
        continue
      }
      // resultType is 2026's word for a complete result; a 2025 result says nothing.
      if (k === 'resultType' && v === 'complete') continue
      // A list's cache hints: the gateway's merged ones (a difference on purpose), or none from a 2025 server.
      if ((k === 'ttlMs' || k === 'cacheScope') && path.length === 0) continue
      // taskSupport "forbidden" is what its absence means; a 2026 client is sent none.
      if (k === 'execution' && JSON.stringify(v) === '{"taskSupport":"forbidden"}') continue
      out[k] = normalise(v, scrub, [...path, k])
    }
    return scrub ? scrub(out, path) : out
  }
  return scrub ? scrub(value, path) : value
}

/**
 * A list request. A server without that kind answers Method not found direct, where the gateway (which
 * declares every kind, for its other servers) answers an empty list: the same for a client, compared as empty.
 */
async function listStep(request: string, key: string, run: () => Promise<unknown>, scrub?: Scrub): Promise<Step> {
  const done = await step(request, run, scrub)
  const code = (done.outcome as { error?: { code?: unknown } }).error?.code
  return code === -32601 ? { request, outcome: { [key]: [] } } : done
}

/** A call to make in a transcript. */
export interface Call {
  tool: string
  arguments?: Params
}

/** The standard transcript: the lists, the given calls, a read of each listed resource (up to `reads`), each prompt got. */
export async function transcript(
  client: FidelityClient,
  calls: Call[],
  options: { reads?: number; prompts?: { name: string; arguments?: Record<string, string> }[]; scrub?: Scrub } = {},
): Promise<Step[]> {
  const { scrub } = options
  const steps: Step[] = []
  steps.push(await listStep('tools/list', 'tools', () => client.listTools(), scrub))
  const resources = await listStep('resources/list', 'resources', () => client.listResources(), scrub)
  steps.push(resources)
  steps.push(await listStep('resources/templates/list', 'resourceTemplates', () => client.listResourceTemplates(), scrub))
  steps.push(await listStep('prompts/list', 'prompts', () => client.listPrompts(), scrub))
  for (const call of calls) {
    steps.push(await step(`tools/call ${call.tool}`, () => client.callTool({ name: call.tool, arguments: call.arguments ?? {} }), scrub))
  }
  const listed = ((resources.outcome as { resources?: { uri: string }[] }).resources ?? []).slice(0, options.reads ?? 3)
  for (const { uri } of listed) steps.push(await step(`resources/read ${uri}`, () => client.readResource({ uri }), scrub))
  for (const prompt of options.prompts ?? []) steps.push(await step(`prompts/get ${prompt.name}`, () => client.getPrompt(prompt), scrub))
  return steps
}

/** The text of a tool result's first content block (or an error's message). */
export function textOf(outcome: unknown): string {
  const error = (outcome as { error?: { message: string } }).error
  if (error) return error.message
  return ((outcome as { content?: { text?: string }[] }).content ?? [])[0]?.text ?? ''
}
