// Shared by the hostile-input suite: a gateway in its own process, clients that keep calling while an
// attack runs, raw HTTP for what an SDK client would never send, and the process's RSS.
import { readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { GatewayOptions, Registration } from 'airmcp/gateway'
import { startListening, TSX_NODE_ARGS, type Started } from '../helpers/processes.js'

export const TOKEN = 'hostile-suite-token'
export const auth = { authorization: `Bearer ${TOKEN}` }

export const HOSTILE_UPSTREAM = 'fixtures/servers/hostile-upstream.ts'
export const RAW_UPSTREAM = 'fixtures/servers/raw-upstream.ts'

export function startUpstream(transport: 'sse' | 'http', env: Record<string, string> = {}): Promise<Started> {
  return startListening([...TSX_NODE_ARGS, HOSTILE_UPSTREAM], { env: { TRANSPORT: transport, AIRMCP_PORT: '0', ...env } })
}

export function startRawUpstream(env: Record<string, string> = {}): Promise<Started> {
  return startListening([...TSX_NODE_ARGS, RAW_UPSTREAM], { env })
}

/** Makes a raw upstream switch to the hostile `lists` and send `times` tools/list_changed on its GET stream. */
export async function announceLists(raw: Started, lists: string, times: number): Promise<string> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'announce', arguments: { lists, times } } })
  return (await rawRequest(raw.url, { body })).body
}

/** A stdio registration of the hostile upstream, launched by the gateway. */
export function stdioUpstream(id: string, name: string): Registration {
  return {
    id,
    name,
    connection: { type: 'stdio', command: 'node', args: [...TSX_NODE_ARGS, HOSTILE_UPSTREAM], env: { TRANSPORT: 'stdio' } },
  }
}

export interface HostileGateway extends Started {
  pid: number
  /** GET /health with the token. */
  health(): Promise<{ status: string; sessions: number; servers: { id: string; status: string; lastError?: string }[] }>
  rssMiB(): number
  alive(): boolean
}

/** Starts a gateway process (authToken set) and waits until it listens. */
export async function startGateway(options: Partial<GatewayOptions>, registrations: Registration[]): Promise<HostileGateway> {
  const started = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/hostile-gateway.ts'], {
    env: { GATEWAY_CONFIG: JSON.stringify({ options: { authToken: TOKEN, healthCheckInterval: 600_000, ...options }, registrations }) },
  })
  const pid = started.child.pid!
  return {
    ...started,
    pid,
    async health() {
      const res = await fetch(new URL('/health', started.url), { headers: auth })
      return (await res.json()) as never
    },
    rssMiB: () => rssMiB(pid),
    alive: () => started.child.exitCode === null && started.child.signalCode === null,
  }
}

/** Resident memory of a process in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}

/** Child processes of `pid` (a gateway) whose command line contains `marker` (a server's entry file). */
export function childrenOf(pid: number, marker: string): number {
  let count = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (parent === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) count++
    } catch {
      // Gone while we looked.
    }
  }
  return count
}

/** A real MCP client on the gateway's Streamable HTTP front, with the token. */
export async function connect(url: string, headers: Record<string, string> = auth): Promise<Client> {
  const client = new Client({ name: 'hostile-suite', version: '0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  return client
}

/**
 * A first client that keeps calling while an attack runs: it calls each of `tools` in turn until stopped
 * (at least `min` calls), recording every failure with its message and the longest gap between two
 * consecutive completions (a stalled gateway shows there first).
 */
export function keepCalling(client: Client, tools: string[], min = 20) {
  let stop = false
  const failures: string[] = []
  let calls = 0
  let maxGapMs = 0
  const running = (async () => {
    let last = performance.now()
    while (!stop || calls < min) {
      const name = tools[calls % tools.length]
      const text = `call-${calls}`
      try {
        const result = (await client.callTool({ name, arguments: { text } })) as { isError?: boolean; content: { text: string }[] }
        if (result.isError || result.content[0]?.text !== text) failures.push(`${name}: ${result.content[0]?.text}`)
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`)
        // A closed client fails at once, without I/O: stop rather than spin (the test has failed already).
        if (/Not connected/.test((error as Error).message)) break
      }
      maxGapMs = Math.max(maxGapMs, performance.now() - last)
      last = performance.now()
      calls++
    }
  })()
  return {
    async stop() {
      stop = true
      await running
      return { calls, failures, maxGapMs }
    },
  }
}

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** One raw HTTP request (custom Host, source address, partial bodies: what fetch would not send). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string; path?: string },
): Promise<RawResponse> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: options.path ?? target.pathname,
        method: options.method ?? 'POST',
        localAddress: options.localAddress,
        headers: {
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          ...options.headers,
        },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

export const initializeBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'attacker', version: '0' } },
})

/** A raw session: initialize, initialized, then `post` sends any body under that session. */
export async function rawSession(url: string, localAddress?: string) {
  const init = await rawRequest(url, { headers: auth, body: initializeBody, localAddress })
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status} ${init.body}`)
  const headers = { ...auth, 'mcp-session-id': String(init.headers['mcp-session-id']), 'mcp-protocol-version': '2025-06-18' }
  await rawRequest(url, { headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), localAddress })
  return {
    id: headers['mcp-session-id'],
    post: (body: string) => rawRequest(url, { headers, body, localAddress }),
  }
}
