import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client'
import { INVALID_PARAMS, RESOURCE_NOT_FOUND, SERVER_ERROR, UPSTREAM_BUSY } from '../protocol/codes.js'

export { RESULT_TOO_LARGE, UPSTREAM_BUSY } from '../protocol/codes.js'

/**
 * The one place where the gateway decides what a failed upstream exchange means, by where it failed (the
 * error's type, never its code or words):
 * - `transport`: the connection or the exchange broke (a socket error, a child that is gone, a status that
 *   says the member is unusable, an answer cut short); no answer came. It marks the member and is worth
 *   another replica.
 * - `busy`: the upstream refused the request for now (HTTP 429): the tool did not run, the member stays.
 * - `request`: an answer arrived (a JSON-RPC error from the server, whatever its code) or the request could
 *   not be made; it is that caller's answer alone, never retried, and leaves the member in its pool.
 */
export type FailureKind = 'transport' | 'busy' | 'request'

/** Our transports' code for an exchange the upstream broke (socket cut, garbage on the stream). */
export const UPSTREAM_BROKEN = SERVER_ERROR

/** Node and undici error codes that say the connection itself failed. */
const TRANSPORT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
])

const SDK_TRANSPORT_CODES = new Set<string>([SdkErrorCode.ConnectionClosed, SdkErrorCode.SendFailed, SdkErrorCode.NotConnected])

/**
 * The gateway's error: a JSON-RPC error (code, message, data) that both eras' fronts send as it is, so its
 * message never carries a code prefix (a client SDK may add its own). It is the SDK's ProtocolError, which
 * the SDK's endpoints also send as they are; `failure` says where an upstream exchange failed.
 */
export class GatewayError extends ProtocolError {
  constructor(
    code: number,
    message: string,
    data?: unknown,
    readonly failure: FailureKind = 'request',
  ) {
    super(code, message, data)
  }
}

/** Raised by our own transports when the upstream broke the exchange (`data.status`: the HTTP status that said so). */
export class UpstreamTransportError extends GatewayError {
  constructor(message: string, data?: { status: number }) {
    super(UPSTREAM_BROKEN, message, data, 'transport')
  }
}

/** An upstream that answered HTTP 429: busy now, not broken; `retryAfter` in seconds when it said. */
export class UpstreamBusyError extends GatewayError {
  constructor(
    message: string,
    readonly retryAfter?: number,
  ) {
    super(UPSTREAM_BUSY, message, undefined, 'busy')
  }
}

/** The error an HTTP upstream's refusal of one POST means (the body is never shown: it may echo secrets). */
export function httpStatusFailure(status: number, where: string, retryAfterHeader?: string | null): Error {
  const text = `HTTP ${status} from ${where}`
  if (status === 429) return new UpstreamBusyError(text, retryAfterSeconds(retryAfterHeader))
  // A lost session, a server error or refused credentials make the member unusable; other statuses concern this request.
  return status === 404 || status === 401 || status === 403 || status >= 500 ? new UpstreamTransportError(text, { status }) : new Error(text)
}

/** A Retry-After header in seconds from now: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterSeconds(header: string | null | undefined): number | undefined {
  if (!header) return undefined
  const seconds = /^\s*\d+\s*$/.test(header) ? Number(header) : (Date.parse(header) - Date.now()) / 1000
  return Number.isNaN(seconds) ? undefined : Math.max(0, Math.ceil(seconds))
}

const FAILURE = Symbol('airmcp.exchangeFailure')

/**
 * The JSON-RPC error a transport of ours delivers for a request whose exchange it saw break: an SDK client
 * reads its code (UPSTREAM_BROKEN), the gateway's own request path the error itself (`exchangeFailureOf`),
 * which no server can forge by sending the same code.
 */
export function failedExchange(id: string | number, error: UpstreamTransportError) {
  return { jsonrpc: '2.0' as const, id, error: { code: UPSTREAM_BROKEN, message: error.message }, [FAILURE]: error }
}

/** The gateway's own error behind a message made by `failedExchange`; undefined for anything a server sent. */
export function exchangeFailureOf(message: object): Error | undefined {
  return (message as { [FAILURE]?: Error })[FAILURE]
}

function codeOf(error: unknown): string | undefined {
  const seen = new Set<unknown>()
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e && !seen.has(e); e = e.cause as typeof e) {
    seen.add(e)
    if (typeof e.code === 'string') return e.code
  }
  return undefined
}

/** A request that failed on a kept-alive socket its server had closed (a restarted server's, say), before any answer came. */
export const onClosedSocket = (error: unknown): boolean => codeOf(error) === 'UND_ERR_SOCKET'

/** Classifies a failed upstream exchange once; see {@link FailureKind}. */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof GatewayError) return error.failure
  // An SdkError is the SDK client's own (the connection closed, a send failed)...
  if (error instanceof SdkError) return SDK_TRANSPORT_CODES.has(error.code) ? 'transport' : 'request'
  // ...a ProtocolError is a JSON-RPC error answer that arrived, whatever its code.
  if (error instanceof ProtocolError) return 'request'
  const code = codeOf(error)
  return code && TRANSPORT_CODES.has(code) ? 'transport' : 'request'
}

/** The message to show for a failure, with secrets removed. */
export function describeFailure(error: unknown, secrets: string[] = []): string {
  return redact(error instanceof Error ? error.message : String(error), secrets)
}

/** Most characters of an upstream's error text the gateway reads, redacts and passes on. */
export const MAX_ERROR_TEXT = 4096

/**
 * Error text from an upstream, bounded: cut to MAX_ERROR_TEXT characters (plus a margin, so a secret or URL
 * across the cut is still recognised), redacted, then cut to the limit.
 */
export function upstreamErrorText(text: string, secrets: string[] = []): string {
  if (text.length <= MAX_ERROR_TEXT) return redact(text, secrets)
  const margin = 1024 + Math.max(0, ...secrets.map((s) => s.length))
  const clean = redact(text.slice(0, MAX_ERROR_TEXT + margin), secrets)
  return `${clean.slice(0, MAX_ERROR_TEXT)}… (${text.length - MAX_ERROR_TEXT} more characters cut)`
}

/** A scheme of at most 32 characters: each position is tried in bounded time, so the scan is linear. */
const URL_PATTERN = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s"'<>]+/gi
const TRAILING = new Set([')', '.', ',', ';', ':', ']'])
const POST_ERROR = /Error POSTing to endpoint \(HTTP \d{1,3}\)/

/**
 * Removes what must never reach a client, a log or `/health`: URL userinfo, URL query values (api keys
 * travel there), the body the SDK quotes from an upstream's HTTP error, and any known secret (header values).
 * Linear in the text's length.
 */
export function redact(text: string, secrets: string[] = []): string {
  let out = text.replace(URL_PATTERN, redactUrl)
  const posted = POST_ERROR.exec(out)
  if (posted) out = out.slice(0, posted.index + posted[0].length)
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***')
  return out
}

function redactUrl(raw: string): string {
  let end = raw.length
  while (end > 0 && TRAILING.has(raw[end - 1])) end--
  const candidate = raw.slice(0, end)
  try {
    const url = new URL(candidate)
    url.username = ''
    url.password = ''
    if (url.search) {
      // Built once: setting each key on the URL would re-serialize the query per key (quadratic).
      const masked = new URLSearchParams()
      for (const key of new Set(url.searchParams.keys())) masked.append(key, '***')
      url.search = masked.toString()
    }
    return url.toString() + raw.slice(end)
  } catch {
    // Not a URL the parser takes (cut short, say): keep only its scheme and host.
    return /^[^:]*:\/\/(?:[^/?#@]*@)?[^/?#@]*/.exec(raw)![0].replace(/\/\/[^/?#@]*@/, '//')
  }
}

/** Secrets a registration carries: header values and the URL's userinfo and query values. */
export function secretsOf(connection: { url?: string; headers?: Record<string, string>; env?: Record<string, string> }): string[] {
  const secrets = Object.values(connection.headers ?? {})
  for (const value of secrets.slice()) {
    const token = /^\s*\S+\s+(\S+)\s*$/.exec(value)?.[1]
    if (token) secrets.push(token)
  }
  if (connection.url) {
    try {
      const url = new URL(connection.url)
      if (url.password) secrets.push(decodeURIComponent(url.password))
      for (const value of url.searchParams.values()) secrets.push(value)
    } catch {
      // Not a URL: nothing more to hide.
    }
  }
  return secrets.filter((s) => s.length >= 4)
}

/** An error's message as the gateway words its own reports (not redacted: callers redact where it leaves). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * The one answer to a tool name a client cannot use, whether it does not exist or is denied: no oracle.
 * Like every error the gateway makes, its message carries no "MCP error <code>:" prefix (the client adds one).
 */
export function unknownTool(name: string): GatewayError {
  return new GatewayError(INVALID_PARAMS, `Unknown tool "${name}".`)
}

export function unknownPrompt(name: string): GatewayError {
  return new GatewayError(INVALID_PARAMS, `Unknown prompt "${name}".`)
}

export function resourceNotFound(uri: string): GatewayError {
  return new GatewayError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`)
}
