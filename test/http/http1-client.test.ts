import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { type ExchangeHandler, Http1Pool } from '../../src/http/http1-client.js'

/** What one exchange reported, in order, and how it ended. */
interface Outcome {
  status?: number
  headers?: ReadonlyMap<string, string>
  body: string
  chunks: number
  error?: NodeJS.ErrnoException
  retryable?: boolean
}

function collect(): { handler: ExchangeHandler; done: Promise<Outcome> } {
  const outcome: Outcome = { body: '', chunks: 0 }
  const parts: Buffer[] = []
  let settle!: (outcome: Outcome) => void
  const done = new Promise<Outcome>((resolve) => (settle = resolve))
  const handler: ExchangeHandler = {
    onHead: (status, headers) => Object.assign(outcome, { status, headers }),
    onData: (chunk) => {
      outcome.chunks++
      parts.push(Buffer.from(chunk))
    },
    onEnd: () => settle({ ...outcome, body: Buffer.concat(parts).toString('utf8') }),
    onError: (error, retryable) => settle({ ...outcome, body: Buffer.concat(parts).toString('utf8'), error, retryable }),
  }
  return { handler, done }
}

const servers: net.Server[] = []
const pools: Http1Pool[] = []
afterEach(async () => {
  for (const pool of pools.splice(0)) pool.close()
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

async function listen(server: net.Server, scheme = 'http'): Promise<URL> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return new URL(`${scheme}://127.0.0.1:${(server.address() as net.AddressInfo).port}/mcp?x=1`)
}

function poolFor(url: URL, maxHeadBytes?: number): Http1Pool {
  const pool = new Http1Pool(url, maxHeadBytes)
  pools.push(pool)
  return pool
}

/** A node:http server that counts its connections and answers with `answer`. */
async function httpServer(answer: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => answer(req, res, body))
  })
  const seen = { connections: 0 }
  server.on('connection', () => seen.connections++)
  return { url: await listen(server), seen }
}

/** A TCP server that answers every request head it reads with the given raw bytes, written one at a time. */
async function rawServer(answer: string, options: { byteByByte?: boolean; thenClose?: boolean } = {}) {
  const seen = { connections: 0, requests: [] as string[] }
  const server = net.createServer((socket) => {
    seen.connections++
    let text = ''
    socket.on('error', () => {})
    socket.on('data', async (chunk) => {
      text += chunk.toString('latin1')
      if (!text.includes('\r\n\r\n')) return
      seen.requests.push(text)
      text = ''
      if (!options.byteByByte) socket.write(answer)
      else {
        // Every split point a socket may deliver: the result must not depend on where reads end.
        for (const byte of Buffer.from(answer)) {
          socket.write(Buffer.from([byte]))
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
      if (options.thenClose) socket.end()
    })
  })
  return { url: await listen(server), seen }
}

async function send(pool: Http1Pool, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const { handler, done } = collect()
  pool.request(pool.head(body === undefined ? 'GET' : 'POST', headers), undefined, body, handler)
  return done
}

describe('Http1Pool', () => {
  it('sends a request in one piece and reads a Content-Length answer, reusing the kept-alive socket', async () => {
    const { url, seen } = await httpServer((req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo-path': req.url ?? '', 'x-echo-host': req.headers.host ?? '' })
      res.end(JSON.stringify({ got: body, length: req.headers['content-length'] }))
    })
    const pool = poolFor(url)
    for (const text of ['{"a":"é"}', '{"b":2}']) {
      const outcome = await send(pool, text)
      expect(outcome.error).toBeUndefined()
      expect(outcome.status).toBe(200)
      expect(JSON.parse(outcome.body)).toEqual({ got: text, length: String(Buffer.byteLength(text)) })
      expect(outcome.headers?.get('x-echo-path')).toBe('/mcp?x=1')
      expect(outcome.headers?.get('x-echo-host')).toBe(url.host)
    }
    expect(seen.connections).toBe(1)
  })

  it('reads chunked and connection-framed bodies split at every byte, and 1xx, 204 and trailers', async () => {
    const cases: [string, string, number][] = [
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n', 'hello, world', 200],
      ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', 'ok', 201],
      ['HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n', '', 204],
      ['HTTP/1.1 200 OK\r\ncontent-length: 4\r\nContent-Length: 4\r\n\r\nsame', 'same', 200],
    ]
    for (const [answer, body, status] of cases) {
      const { url, seen } = await rawServer(answer, { byteByByte: true })
      const pool = poolFor(url)
      const first = await send(pool)
      expect(first).toMatchObject({ status, body })
      expect(first.error).toBeUndefined()
      // The socket went back to the pool: the second request reuses it.
      expect(await send(pool)).toMatchObject({ status, body })
      expect(seen.connections).toBe(1)
    }
    // No length and no chunking: the body runs to the connection's end, and that socket is not reused.
    const { url, seen } = await rawServer('HTTP/1.1 200 OK\r\n\r\nuntil the end', { byteByByte: true, thenClose: true })
    const pool = poolFor(url)
    expect(await send(pool)).toMatchObject({ status: 200, body: 'until the end' })
    expect(await send(pool)).toMatchObject({ status: 200, body: 'until the end' })
    expect(seen.connections).toBe(2)
  })

  it('streams a chunked body as it comes (an SSE answer is read before it ends)', async () => {
    let finish!: () => void
    const { url } = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: first\n\n')
      finish = () => res.end('data: last\n\n')
    })
    const pool = poolFor(url)
    const outcome = await new Promise<Outcome>((resolve, reject) => {
      let body = ''
      pool.request(pool.head('POST', {}), undefined, '{}', {
        onHead: () => {},
        onData: (chunk) => {
          body += chunk.toString()
          if (body === 'data: first\n\n') finish()
        },
        onEnd: () => resolve({ body, chunks: 0 }),
        onError: reject,
      })
    })
    expect(outcome.body).toBe('data: first\n\ndata: last\n\n')
  })

  it('does not reuse a socket the server asked to close, or one with bytes after the answer', async () => {
    for (const answer of ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok']) {
      const { url, seen } = await rawServer(answer)
      const pool = poolFor(url)
      expect(await send(pool)).toMatchObject({ status: 200, body: 'ok' })
      expect(await send(pool)).toMatchObject({ status: 200, body: 'ok' })
      expect(seen.connections).toBe(2)
    }
  })

  it('fails a malformed answer with a clear error and drops the socket', async () => {
    const cases: [string, RegExp][] = [
      ['SMTP ready\r\n\r\n', /status line is not HTTP/],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /header line is malformed/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n folded: value\r\n\r\nok', /header line is malformed/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', /two different Content-Length/],
      ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /Content-Length is not a number/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /chunk size is malformed/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX', /chunk does not end where its size says/],
      ['HTTP/1.1 101 Switching Protocols\r\n\r\n', /switched protocols/],
      [`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(2000)}\r\n\r\n`, /larger than 1024 bytes/],
    ]
    for (const [answer, message] of cases) {
      const { url, seen } = await rawServer(answer)
      const pool = poolFor(url, 1024)
      const outcome = await send(pool)
      expect(outcome.error?.message).toMatch(message)
      expect(outcome.error?.code).toBe('HPE_INVALID_RESPONSE')
      expect(outcome.retryable).toBe(false)
      // The next request gets a fresh socket.
      await send(pool)
      expect(seen.connections).toBe(2)
    }
  })

  it('reports a request lost on a reused socket the server closed as retryable, and a refused connection as not', async () => {
    let requests = 0
    const server = net.createServer((socket) => {
      socket.on('data', () => {
        // The first request is answered; the second one finds the server closing the socket instead.
        if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
        else socket.destroy()
      })
    })
    const pool = poolFor(await listen(server))
    expect(await send(pool)).toMatchObject({ status: 200, body: 'ok' })
    const lost = await send(pool)
    expect(lost.error?.code).toBe('ECONNRESET')
    expect(lost.retryable).toBe(true)
    // On a fresh socket nothing is retryable.
    const fresh = await send(pool)
    expect(fresh.retryable).toBe(false)

    const closed = net.createServer()
    const url = await listen(closed)
    await new Promise((resolve) => closed.close(resolve))
    servers.splice(servers.indexOf(closed), 1)
    const refused = await send(poolFor(url))
    expect(refused.error?.code).toBe('ECONNREFUSED')
    expect(refused.retryable).toBe(false)
  })

  it('refuses a header that would split the head, before anything is sent, and sends a latin1 value as latin1', async () => {
    const { url, seen } = await rawServer('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
    const pool = poolFor(url)
    expect(() => pool.head('POST', { 'x-evil': 'a\r\nx-injected: 1' })).toThrow(TypeError)
    const head = pool.head('POST', {})
    expect(() => pool.request(head, { 'x-evil': 'a\nb' }, '{}', collect().handler)).toThrow(TypeError)
    expect(() => pool.request(head, { 'bad name': 'a' }, '{}', collect().handler)).toThrow(TypeError)
    expect(seen.connections).toBe(0)
    expect(await send(pool, '{"é":1}', { 'x-latin1': 'caf\u00e9' })).toMatchObject({ status: 200 })
    const request = Buffer.from(seen.requests[0], 'latin1')
    expect(request.includes(Buffer.from('x-latin1: caf\xe9\r\n', 'latin1'))).toBe(true)
    expect(request.includes(Buffer.from('{"é":1}'))).toBe(true)
    expect(seen.requests[0]).toContain(`content-length: ${Buffer.byteLength('{"é":1}')}\r\n`)
  })

  it('abort ends an exchange at once: the handler hears nothing more and the server sees the socket close', async () => {
    let closed!: () => void
    const socketClosed = new Promise<void>((resolve) => (closed = resolve))
    let received!: () => void
    const requestReceived = new Promise<void>((resolve) => (received = resolve))
    const server = net.createServer((socket) => {
      socket.on('data', () => received())
      socket.on('close', () => closed())
    })
    const pool = poolFor(await listen(server))
    const heard: string[] = []
    const exchange = pool.request(pool.head('POST', {}), undefined, '{}', {
      onHead: () => heard.push('head'),
      onData: () => heard.push('data'),
      onEnd: () => heard.push('end'),
      onError: () => heard.push('error'),
    })
    await requestReceived
    exchange.abort()
    await socketClosed
    expect(heard).toEqual([])
  })

  it('speaks TLS to an https upstream and verifies its certificate', async () => {
    const cert = new URL('../../fixtures/tls/localhost-cert.pem', import.meta.url)
    const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(new URL('../../fixtures/tls/localhost-key.pem', import.meta.url)) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"over":"tls"}')
    })
    const url = await listen(server, 'https')
    // This process does not trust the self-signed certificate: refused.
    const refused = await send(poolFor(url))
    expect(refused.error?.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/)
    // A process that trusts it (NODE_EXTRA_CA_CERTS, as a user with a private CA would) gets the answer, for the IP and the name.
    const script = `
      const { Http1Pool } = await import(${JSON.stringify(new URL('../../src/http/http1-client.ts', import.meta.url).href)})
      for (const target of process.argv.slice(1)) {
        const pool = new Http1Pool(new URL(target))
        const outcome = await new Promise((resolve) => {
          let body = ''
          pool.request(pool.head('POST', {}), undefined, '{}', {
            onHead: () => {},
            onData: (chunk) => (body += chunk),
            onEnd: () => resolve(body),
            onError: (error) => resolve('error ' + error.code),
          })
        })
        pool.close()
        console.log(outcome)
      }`
    const byName = new URL(url)
    byName.hostname = 'localhost'
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, url.href, byName.href], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: cert.pathname },
    })
    expect(stdout.trim().split('\n')).toEqual(['{"over":"tls"}', '{"over":"tls"}'])
  })
})
