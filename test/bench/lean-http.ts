// A lean Streamable HTTP load generator (2025-11-25 session): raw JSON-RPC over kept-alive node:http sockets.
// An SDK client spends more CPU per call than the servers and proxies it drives, so on this 2-core machine
// its calls/s say more about the client than about the proxy; this one leaves the CPU to what is measured.
import http from 'node:http'
import { measureCalls, type CallStats } from './measure.js'

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

/** Rounds of {@link leanInTurns}. */
export const LEAN_ROUNDS = 3

/**
 * measureCalls (sequential calls, then 50 in flight) driven by the lean generator on several endpoints in
 * turns, every endpoint once per round; each figure is that endpoint's median over the rounds. On a shared
 * machine every path meets the same drift in load, so their ratios hold.
 */
export async function leanInTurns(targets: { url: string; pid?: number }[], rounds = LEAN_ROUNDS): Promise<CallStats[]> {
  const sessions = []
  for (const target of targets) sessions.push(await leanSession(target.url))
  try {
    const runs: CallStats[][] = targets.map(() => [])
    for (let round = 0; round < rounds; round++) {
      for (const [i, target] of targets.entries()) runs[i].push(await measureCalls({ callTool: sessions[i].call }, undefined, target.pid))
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
    return runs.map((r) => ({
      medianMs: median(r.map((s) => s.medianMs)),
      p99Ms: median(r.map((s) => s.p99Ms)),
      callsPerSecond: median(r.map((s) => s.callsPerSecond)),
      serverCpuMsPerKCall: r.every((s) => s.serverCpuMsPerKCall !== undefined) ? median(r.map((s) => s.serverCpuMsPerKCall!)) : undefined,
    }))
  } finally {
    for (const session of sessions) session.close()
  }
}
