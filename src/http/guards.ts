import type { IncomingMessage, ServerResponse } from 'node:http'
import { isLoopbackHost } from '../names.js'
import { PARSE_ERROR, SERVER_ERROR } from '../protocol/codes.js'
import { bearerMatches } from './bearer.js'
import { hostnameOfHostHeader } from './loopback.js'

/** An HTTP failure answered as a JSON-RPC error body with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = SERVER_ERROR,
    /** The `WWW-Authenticate` challenge of a 401/403 (default `Bearer` on a 401). */
    readonly challenge?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

/** Who may reach an HTTP front: Host names and Origins besides loopback, and an optional bearer token. */
export interface GuardOptions {
  /** The address the server binds; a loopback bind refuses foreign Host names (DNS rebinding). */
  host: string
  /** Extra Host header names accepted besides loopback ones (`*` accepts any). */
  allowedHosts?: string[]
  /** Extra Origins accepted besides loopback ones (`*` accepts any). */
  allowedOrigins?: string[]
  /** When set, MCP requests need `Authorization: Bearer <token>`. */
  authToken?: string
}

/** Largest request body accepted unless configured otherwise (4 MiB). */
export const DEFAULT_MAX_BODY = 4 * 1024 * 1024

// Parsed, not prefix-matched (see isLoopbackHost): `127.0.0.1.evil.example` is a DNS name anyone can point anywhere.
const isLoopbackName = isLoopbackHost

/** Refuses requests a DNS-rebinding page could send: foreign Host names on a loopback bind, foreign Origins. */
export function checkHostAndOrigin(req: IncomingMessage, options: GuardOptions): void {
  const allowedHosts = options.allowedHosts ?? []
  if (!allowedHosts.includes('*') && (isLoopbackName(options.host) || allowedHosts.length)) {
    const hostname = hostnameOfHostHeader(req.headers.host ?? '')
    if (!isLoopbackName(hostname) && !(hostname && allowedHosts.includes(hostname))) {
      throw new HttpError(403, `Host "${req.headers.host}" is not allowed. Add it to allowedHosts to accept it.`)
    }
  }
  const origin = req.headers.origin
  const allowedOrigins = options.allowedOrigins ?? []
  if (origin && !allowedOrigins.includes('*') && !allowedOrigins.includes(origin)) {
    let hostname = ''
    try {
      hostname = new URL(origin).hostname
    } catch {
      // An unparsable Origin is foreign.
    }
    if (!isLoopbackName(hostname)) {
      throw new HttpError(403, `Origin "${origin}" is not allowed. Add it to allowedOrigins to accept it.`)
    }
  }
}

/** Checks `Authorization: Bearer <token>` (scheme in any case) in constant time when a token is configured. */
export function checkBearer(req: IncomingMessage, token: string | undefined): void {
  if (token && !bearerMatches(req.headers.authorization, token)) {
    throw new HttpError(401, 'Missing or wrong bearer token.')
  }
}

/**
 * Reads and parses a JSON body, refusing bodies over the cap before they are buffered whole. Read with
 * stream events rather than `for await`: an async iterator per request costs more than the small body.
 */
export function readJsonBody(req: IncomingMessage, limit = DEFAULT_MAX_BODY): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) return Promise.reject(new HttpError(413, `Request body of ${declared} bytes exceeds the ${limit}-byte limit.`))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) return void chunks.push(chunk)
      req.off('data', onData)
      req.resume()
      reject(new HttpError(413, `Request body exceeds the ${limit}-byte limit.`))
    }
    req.on('data', onData)
    req.once('error', reject)
    // A client that goes away mid-body settles the read too (the request was aborted, nothing to answer).
    req.once('close', () => {
      if (!req.complete) reject(new HttpError(400, 'The request body was cut off.'))
    })
    req.once('end', () => {
      if (size > limit) return
      try {
        resolve(JSON.parse((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8')))
      } catch (error) {
        reject(new HttpError(400, `Parse error: ${(error as Error).message}`, PARSE_ERROR))
      }
    })
  })
}

/** Answers an HTTP failure as a JSON-RPC error body (or just ends a response already under way). */
export function sendHttpError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.end()
    return
  }
  res.writeHead(error.status, {
    'content-type': 'application/json',
    ...(error.challenge ? { 'www-authenticate': error.challenge } : error.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    ...error.headers,
  })
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: error.code, message: error.message }, id: null }))
}
