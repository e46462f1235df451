// A lean Streamable HTTP load generator (2025-11-25 session): raw JSON-RPC over kept-alive node:http sockets.
// An SDK client spends more CPU per call than the servers and proxies it drives, so on this 2-core machine
// its calls/s say more about the client than about the proxy; this one leaves the CPU to what is measured.
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import type { CallStats } from './measure.js'

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
}

function post(agent: http.Agent, url: URL, body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    })
    req.on('error', reject)
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
      res.on('error', reject)
    })
    req.end(body)
  })
}

/** The JSON-RPC message answering `id` in a JSON or SSE body. */
function answerIn(text: string, id: number): { result?: { content?: { text?: string }[] }; error?: unknown } | undefined {
  const candidates = text.startsWith('{') || text.startsWith('[') ? [text] : text.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => l.slice(6))
  for (const candidate of candidates) {
    const parsed = JSON.parse(candidate) as { id?: unknown } | { id?: unknown }[]
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) if (message.id === id) return message as never
  }
  return undefined
}

/** Opens a 2025-11-25 session and returns a function making one checked `echo` call on it. */
export async function leanSession(endpoint: string): Promise<{ call: () => Promise<void>; close: () => void }> {
  const url = new URL(endpoint)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const init = await post(
    agent,
    url,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'lean-bench', version: '1' } },
    }),
    {},
  )
  const session = init.headers['mcp-session-id']
  if (init.status !== 200 || typeof session !== 'string') throw new Error(`initialize failed at ${endpoint}: HTTP ${init.status} ${init.text.slice(0, 200)}`)
  const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' }
  await post(agent, url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers)
  let next = 1
  const call = async () => {
    const id = next++
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } })
    const answer = await post(agent, url, body, headers)
    const message = answer.status === 200 ? answerIn(answer.text, id) : undefined
    if (message?.result?.content?.[0]?.text !== 'hello') throw new Error(`bad answer from ${endpoint}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`)
  }
  return { call, close: () => agent.destroy() }
}

/** `concurrency` lean callers for `durationMs`, after a warm-up; calls/s and the measured process's CPU per call. */
export async function leanThroughput(
  endpoint: string,
  cpuOf: () => number | undefined,
  options = { warmup: 1000, concurrency: 50, durationMs: 3000 },
): Promise<CallStats> {
  const { call, close } = await leanSession(endpoint)
  try {
    for (let i = 0; i < options.warmup; i++) await call()
    const times: number[] = []
    for (let i = 0; i < 500; i++) {
      const started = performance.now()
      await call()
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    let completed = 0
    const cpuBefore = cpuOf()
    const started = performance.now()
    const until = started + options.durationMs
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (performance.now() < until) {
          await call()
          completed++
        }
      }),
    )
    const elapsed = (performance.now() - started) / 1000
    const cpuAfter = cpuOf()
    return {
      medianMs: times[Math.floor(times.length / 2)],
      p99Ms: times[Math.floor(times.length * 0.99)],
      callsPerSecond: completed / elapsed,
      serverCpuMsPerKCall: cpuBefore !== undefined && cpuAfter !== undefined ? ((cpuAfter - cpuBefore) / completed) * 1000 : undefined,
    }
  } finally {
    close()
  }
}
