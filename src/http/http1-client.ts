import net from 'node:net'
import tls from 'node:tls'

/**
 * A minimal HTTP/1.1 client over kept-alive sockets, for the gateway's upstream calls. node:http's client
 * costs about 75 µs of CPU per exchange on this path (its agent, the ClientRequest/IncomingMessage
 * streams, llhttp's callbacks), a third of everything a proxy does per call; this one writes a request in
 * one write and reads a response with a few Buffer searches. It speaks only what an MCP server answers
 * with: a head, then a body framed by Content-Length, chunked encoding, or the end of the connection.
 * Anything else (a malformed head, a bad chunk, an oversized head) fails the exchange and drops the socket.
 */

/** What a caller hears about one exchange, in order: `onHead`, `onData`*, then `onEnd` or `onError`; nothing after `abort()`. */
export interface ExchangeHandler {
  /** The status and the headers, names lowercased, repeated ones joined with ", ". */
  onHead(status: number, headers: ReadonlyMap<string, string>): void
  onData(chunk: Buffer): void
  onEnd(): void
  /**
   * The exchange failed. `retryable`: it went out on a reused kept-alive socket and nothing came back,
   * the race where the server closed an idle socket as we reused it; sending again on a fresh socket is safe.
   */
  onError(error: NodeJS.ErrnoException, retryable: boolean): void
}

/** A request's fixed head lines, from {@link Http1Pool.head}. */
export interface RequestHead {
  readonly method: string
  readonly text: string
  /** Whether the text is ASCII (a header value may be latin1). */
  readonly ascii: boolean
}

/** One request in flight. */
export interface Exchange {
  /** Ends the exchange at once and drops its socket; the handler hears nothing more. */
  abort(): void
}

/** Header values node:http also refuses: control characters other than tab (a CR/LF would split the head). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/
const NON_ASCII = /[^\t\x20-\x7e]/
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: |$)/
/** CRLF CRLF, the end of a head, and CRLF (as bytes: the layering test reads `from(` followed by a quote as an import). */
const HEAD_END = Buffer.from([13, 10, 13, 10])
const CRLF = Buffer.from([13, 10])
/** A chunk-size line or a trailer line longer than this is not an MCP server's. */
const MAX_LINE = 4096
/** Idle sockets kept per pool, as node's agent keeps (maxFreeSockets). */
const MAX_IDLE = 256

const enum Body {
  /** Reading the head (or the head after an interim 1xx answer). */
  Head,
  Length,
  ChunkSize,
  ChunkData,
  /** The CRLF after a chunk's data (`remaining` counts its bytes seen). */
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

/** `name: value` lines of `headers`; throws a TypeError for a name or value that cannot be sent. */
function headerLines(headers: Record<string, string>): { text: string; ascii: boolean } {
  let text = ''
  let ascii = true
  for (const name in headers) {
    const value = headers[name]
    if (!TOKEN.test(name)) throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`)
    if (NON_ASCII.test(value)) {
      if (INVALID_VALUE.test(value)) throw new TypeError(`Invalid character in the value of header ${name}`)
      ascii = false
    }
    text += `${name}: ${value}\r\n`
  }
  return { text, ascii }
}

function protocolError(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: 'HPE_INVALID_RESPONSE' })
}

/** The head's fields, or what is wrong with it. */
function parseHead(text: string): { keepAlive: boolean; status: number; headers: Map<string, string> } | string {
  let end = text.indexOf('\r\n')
  if (end < 0) end = text.length
  const statusLine = STATUS_LINE.exec(text.slice(0, end))
  if (!statusLine) return 'the status line is not HTTP/1.x'
  const headers = new Map<string, string>()
  for (let at = end + 2; at < text.length; at = end + 2) {
    end = text.indexOf('\r\n', at)
    if (end < 0) end = text.length
    const colon = text.indexOf(':', at)
    const name = colon > at && colon < end ? text.slice(at, colon) : ''
    // A line without a name, or a folded continuation line (obsolete, and a smuggling vector).
    if (!TOKEN.test(name)) return `a header line is malformed: ${JSON.stringify(text.slice(at, Math.min(end, at + 80)))}`
    const key = name.toLowerCase()
    const value = text.slice(colon + 1, end).trim()
    const seen = headers.get(key)
    if (seen === undefined) headers.set(key, value)
    else if (key === 'content-length') {
      if (seen !== value) return 'it has two different Content-Length headers'
    } else headers.set(key, `${seen}, ${value}`)
  }
  const connection = headers.get('connection')
  const keepAlive = statusLine[1] === '1' && (connection === undefined || !/(?:^|,)\s*close\s*(?:,|$)/i.test(connection))
  return { keepAlive, status: Number(statusLine[2]), headers }
}

/** One kept-alive socket and the exchange it carries, if any. */
class Connection {
  private handler: ExchangeHandler | undefined
  private method = ''
  private reused = false
  /** Whether any byte of the current answer arrived (a request that got nothing back may be sent again). */
  private received = false
  private state = Body.Head
  /** Bytes of a head or a line that arrived split over chunks. */
  private pending: Buffer | undefined
  private remaining = 0
  private keepAlive = false

  constructor(
    readonly socket: net.Socket,
    private readonly pool: Http1Pool,
    private readonly maxHeadBytes: number,
  ) {
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 1000)
    socket.on('data', (chunk: Buffer) => this.feed(chunk))
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(error))
    socket.on('close', () => {
      this.pool.forget(this)
      // A body framed by the connection's end ends here; any other exchange was cut off.
      if (this.handler && this.state === Body.UntilClose) return this.finish()
      this.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    })
  }

  start(method: string, request: string | Buffer, handler: ExchangeHandler, reused: boolean): Exchange {
    this.handler = handler
    this.method = method
    this.reused = reused
    this.received = false
    this.state = Body.Head
    this.pending = undefined
    this.socket.write(request)
    return {
      abort: () => {
        if (this.handler !== handler) return
        this.handler = undefined
        this.socket.destroy()
      },
    }
  }

  private fail(error: NodeJS.ErrnoException): void {
    const handler = this.handler
    this.handler = undefined
    this.socket.destroy()
    handler?.onError(error, this.reused && !this.received)
  }

  /** The answer is complete: the socket goes back to the pool (or is closed) before the caller hears, so it can be reused at once. */
  private finish(reusable = this.keepAlive): void {
    const handler = this.handler
    this.handler = undefined
    if (reusable && !this.socket.destroyed) this.pool.release(this)
    else this.socket.destroy()
    handler?.onEnd()
  }

  private feed(chunk: Buffer): void {
    if (!this.handler) {
      // Bytes nobody asked for (an idle socket, or after an answer we stopped reading): the stream is out of step.
      this.socket.destroy()
      return
    }
    this.received = true
    let at = 0
    while (at < chunk.length) {
      const handler = this.handler
      if (!handler) return
      switch (this.state) {
        case Body.Head: {
          at = this.readHead(chunk, at)
          break
        }
        case Body.Length:
        case Body.ChunkData: {
          const take = Math.min(this.remaining, chunk.length - at)
          handler.onData(take === chunk.length ? chunk : chunk.subarray(at, at + take))
          at += take
          this.remaining -= take
          if (this.remaining > 0) break
          if (this.state === Body.ChunkData) this.state = Body.ChunkDataEnd
          else this.finish(this.keepAlive && at === chunk.length)
          break
        }
        case Body.ChunkDataEnd: {
          // Exactly CRLF after a chunk's data; anything else means the size was a lie.
          if (chunk[at] !== (this.remaining === 0 ? 0x0d : 0x0a)) return this.fail(protocolError('A chunk does not end where its size says.'))
          at++
          if (++this.remaining === 2) this.state = Body.ChunkSize
          break
        }
        case Body.ChunkSize:
        case Body.Trailers: {
          const line = this.readLine(chunk, at)
          if (line === undefined) return
          at = line.next
          if (this.onLine(line.text)) this.finish(this.keepAlive && at === chunk.length)
          break
        }
        case Body.UntilClose: {
          handler.onData(at === 0 ? chunk : chunk.subarray(at))
          return
        }
      }
    }
  }

  /** Reads a head that may span chunks; returns where the body starts in `chunk` (its end when the head is not complete). */
  private readHead(chunk: Buffer, at: number): number {
    let bytes = chunk
    let from = at
    if (this.pending) {
      bytes = Buffer.concat([this.pending, chunk.subarray(at)])
      from = 0
    }
    const end = bytes.indexOf(HEAD_END, from)
    // The head so far (all of it when its end is here) must fit the limit.
    if ((end < 0 ? bytes.length : end) - from > this.maxHeadBytes) {
      this.fail(protocolError(`The response head is larger than ${this.maxHeadBytes} bytes.`))
      return chunk.length
    }
    if (end < 0) {
      this.pending = Buffer.from(bytes.subarray(from))
      return chunk.length
    }
    // Where the body starts, in `chunk`'s terms.
    const next = this.pending ? chunk.length - (bytes.length - end - 4) : end + 4
    this.pending = undefined
    const head = parseHead(bytes.toString('latin1', from, end))
    if (typeof head === 'string') {
      this.fail(protocolError(`The response is malformed: ${head}.`))
      return chunk.length
    }
    const { status, headers } = head
    // An interim answer (100 Continue, 103 Early Hints): the real one follows.
    if (status >= 100 && status < 200 && status !== 101) return next
    if (status === 101) {
      this.fail(protocolError('The server switched protocols unasked.'))
      return chunk.length
    }
    this.keepAlive = head.keepAlive
    const te = headers.get('transfer-encoding')
    const length = headers.get('content-length')
    if (this.method === 'HEAD' || status === 204 || status === 304) this.remaining = 0
    else if (te !== undefined) {
      // Chunked must be the last coding; a body with any other framing runs to the connection's end.
      if (/(?:^|,)\s*chunked\s*$/i.test(te)) this.state = Body.ChunkSize
      else this.state = Body.UntilClose
      // A response with both framings is suspect (RFC 9112 §6.3): read it, never reuse the socket.
      if (length !== undefined || this.state === Body.UntilClose) this.keepAlive = false
    } else if (length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) {
        this.fail(protocolError(`The response's Content-Length is not a number: ${JSON.stringify(length.slice(0, 40))}.`))
        return chunk.length
      }
      this.state = Body.Length
      this.remaining = Number(length)
    } else {
      this.state = Body.UntilClose
      this.keepAlive = false
    }
    this.handler?.onHead(status, headers)
    if (!this.handler) return chunk.length
    if (this.state === Body.Head || (this.state === Body.Length && this.remaining === 0)) this.finish(this.keepAlive && next === chunk.length)
    return next
  }

  /** Reads one CRLF-ended line that may span chunks (chunk sizes, trailers). */
  private readLine(chunk: Buffer, at: number): { text: string; next: number } | undefined {
    const end = chunk.indexOf(CRLF, at)
    const pending = this.pending
    // A CRLF split over two chunks: the CR ends the pending bytes, the LF starts this chunk.
    if (pending && pending[pending.length - 1] === 0x0d && at === 0 && chunk[0] === 0x0a) {
      this.pending = undefined
      return { text: pending.toString('latin1', 0, pending.length - 1), next: 1 }
    }
    if (end < 0) {
      const rest = chunk.subarray(at)
      this.pending = pending ? Buffer.concat([pending, rest]) : Buffer.from(rest)
      if (this.pending.length > MAX_LINE) this.fail(protocolError('A chunk-size or trailer line is too long.'))
      return undefined
    }
    this.pending = undefined
    const text = (pending ? pending.toString('latin1') : '') + chunk.toString('latin1', at, end)
    if (text.length > MAX_LINE) {
      this.fail(protocolError('A chunk-size or trailer line is too long.'))
      return undefined
    }
    return { text, next: end + 2 }
  }

  /** Takes one line of chunked framing; true when it ends the body. */
  private onLine(text: string): boolean {
    // Trailers are read and dropped; an empty line ends the body.
    if (this.state === Body.Trailers) return text === ''
    const size = /^([0-9a-fA-F]{1,12})[\t ]*(?:;.*)?$/.exec(text)
    if (!size) {
      this.fail(protocolError(`A chunk size is malformed: ${JSON.stringify(text.slice(0, 40))}.`))
      return false
    }
    this.remaining = Number.parseInt(size[1], 16)
    this.state = this.remaining === 0 ? Body.Trailers : Body.ChunkData
    return false
  }
}

/**
 * Kept-alive connections to one origin (`http:` or `https:`): each request takes an idle socket or opens
 * one, and a socket goes back to the pool when its answer has been read in full.
 */
export class Http1Pool {
  private readonly idle: Connection[] = []
  private readonly open = new Set<Connection>()
  private closed = false
  private readonly host: string
  private readonly port: number
  private readonly secure: boolean

  constructor(
    private readonly url: URL,
    private readonly maxHeadBytes = 16 * 1024,
  ) {
    this.secure = url.protocol === 'https:'
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    this.port = Number(url.port) || (this.secure ? 443 : 80)
  }

  /**
   * The fixed part of a request's head: its request line, Host, and `headers`, checked once so that every
   * request sent with it reuses the text. Throws (a TypeError, like node:http) for a header that cannot be sent.
   */
  head(method: string, headers: Record<string, string>): RequestHead {
    const lines = headerLines(headers)
    const host = Object.keys(headers).some((name) => name.toLowerCase() === 'host') ? '' : `host: ${this.url.host}\r\n`
    return { method, text: `${method} ${this.url.pathname}${this.url.search} HTTP/1.1\r\n${host}${lines.text}`, ascii: lines.ascii }
  }

  /**
   * Sends one request to the pool's URL: `head`, then `headers` of this request alone, then `body`. Throws
   * (a TypeError) for a header that cannot be sent, before anything is written.
   */
  request(head: RequestHead, headers: Record<string, string> | undefined, body: string | undefined, handler: ExchangeHandler): Exchange {
    const extra = headers ? headerLines(headers) : undefined
    let text = extra ? head.text + extra.text : head.text
    if (body !== undefined) text += `content-length: ${Buffer.byteLength(body)}\r\n`
    // A head is latin1 and a body UTF-8: the same bytes as one UTF-8 string when the head is ASCII (it always
    // is in practice), else one buffer of both; either way one write.
    const request =
      head.ascii && (extra?.ascii ?? true)
        ? `${text}\r\n${body ?? ''}`
        : Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), Buffer.from(body ?? '')])
    if (this.closed) {
      process.nextTick(() => handler.onError(Object.assign(new Error('The connection pool is closed.'), { code: 'ERR_POOL_CLOSED' }), false))
      return { abort() {} }
    }
    let reused = this.idle.pop()
    // A socket the server closed whose 'close' has not been dispatched yet.
    while (reused && (reused.socket.destroyed || !reused.socket.writable)) reused = this.idle.pop()
    return (reused ?? this.connect()).start(head.method, request, handler, reused !== undefined)
  }

  private connect(): Connection {
    const socket = this.secure
      ? tls.connect({ host: this.host, port: this.port, servername: net.isIP(this.host) ? undefined : this.host, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host: this.host, port: this.port })
    const connection = new Connection(socket, this, this.maxHeadBytes)
    this.open.add(connection)
    return connection
  }

  /** Called by a connection whose answer is complete. */
  release(connection: Connection): void {
    if (this.closed || this.idle.length >= MAX_IDLE) connection.socket.destroy()
    else this.idle.push(connection)
  }

  /** Called by a connection whose socket closed. */
  forget(connection: Connection): void {
    this.open.delete(connection)
    const at = this.idle.indexOf(connection)
    if (at >= 0) this.idle.splice(at, 1)
  }

  /** Closes every socket, in flight or idle; requests after this fail. */
  close(): void {
    this.closed = true
    for (const connection of this.open) connection.socket.destroy()
  }
}
