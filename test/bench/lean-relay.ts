// A relay built from the gateway's own HTTP parts and nothing else: node:http's server in front, the
// gateway's upstream client (src/http/http1-client.ts) behind, each body read whole and passed on, no MCP.
// What the gateway costs beyond this relay is its MCP work; what this relay costs is an HTTP hop of those parts.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Http1Pool } from '../../src/http/http1-client.js'

const upstream = new URL(process.env.UPSTREAM ?? 'http://127.0.0.1:3000/mcp')
const pool = new Http1Pool(upstream)
/** Headers of one hop only: each side frames its own message. */
const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers[name] = value
    const parts: Buffer[] = []
    let status = 502
    const answerHeaders: Record<string, string> = {}
    pool.request(pool.head(req.method ?? 'POST', headers), undefined, Buffer.concat(chunks).toString(), {
      onHead(code, head) {
        status = code
        for (const [name, value] of head) if (!HOP_BY_HOP.has(name)) answerHeaders[name] = value
      },
      onData: (chunk) => parts.push(chunk),
      onEnd() {
        const body = Buffer.concat(parts)
        res.writeHead(status, { ...answerHeaders, 'content-length': String(body.length) })
        res.end(body)
      },
      onError: () => res.destroy(),
    })
  })
})
server.listen(0, '127.0.0.1', () => console.error(`lean-relay listening on http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`))
