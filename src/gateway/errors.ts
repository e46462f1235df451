import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client'
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js'

/**
 * The one place where the gateway decides what a failed upstream exchange means. A transport failure (the
 * connection or the upstream's side of the exchange broke) marks the member and is worth another replica;
 * anything else (the server's own error, a request that cannot be serialized, an oversized result) is an
 * answer for that caller only and leaves the member in its pool.
 */
export type FailureKind = 'transport' | 'request'

/** A result that exceeded `maxResultBytes`: the upstream is fine, the answer is not forwarded. */
export const RESULT_TOO_LARGE = -32013
/** Our transports' code for an exchange the upstream broke (socket cut, garbage on the stream). */
export const UPSTREAM_BROKEN = ErrorCode.ConnectionClosed

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

/** An error our own transports raise when the upstream broke the exchange. */
export class UpstreamTransportError extends Error {
  override readonly name = 'UpstreamTransportError'
}

function codeOf(error: unknown): string | undefined {
  const seen = new Set<unknown>()
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e && !seen.has(e); e = e.cause as typeof e) {
    seen.add(e)
    if (typeof e.code === 'string') return e.code
  }
  return undefined
}

/** Classifies a failed upstream exchange once; see {@link FailureKind}. */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed ? 'transport' : 'request'
  // SDK v2: a ProtocolError is the server's (or our transports') JSON-RPC answer; an SdkError is the client's own.
  if (error instanceof ProtocolError) return error.code === UPSTREAM_BROKEN ? 'transport' : 'request'
  if (error instanceof SdkError) {
    return [SdkErrorCode.ConnectionClosed, SdkErrorCode.SendFailed, SdkErrorCode.NotConnected].includes(error.code) ? 'transport' : 'request'
  }
  if (error instanceof UpstreamTransportError) return 'transport'
  const code = codeOf(error)
  if (code && TRANSPORT_CODES.has(code)) return 'transport'
  const message = error instanceof Error ? error.message : ''
  // The SDK's transports say so in words: a child that is gone, an SSE POST that found no server.
  if (/not connected|not running|fetch failed|socket hang up|Error POSTing to endpoint \(HTTP 5\d\d\)/i.test(message)) {
    return 'transport'
  }
  return 'request'
}

/** The message to show for a failure, with secrets removed. */
export function describeFailure(error: unknown, secrets: string[] = []): string {
  return redact(error instanceof Error ? error.message : String(error), secrets)
}

const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi

/**
 * Removes what must never reach a client, a log or `/health`: URL userinfo, URL query values (api keys
 * travel there), the body the SDK quotes from an upstream's HTTP error, and any known secret (header values).
 */
export function redact(text: string, secrets: string[] = []): string {
  let out = text.replace(URL_PATTERN, (raw) => {
    const trailing = /[).,;:\]]+$/.exec(raw)?.[0] ?? ''
    const candidate = trailing ? raw.slice(0, -trailing.length) : raw
    try {
      const url = new URL(candidate)
      if (url.username || url.password) {
        url.username = ''
        url.password = ''
      }
      for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, '***')
      return url.toString() + trailing
    } catch {
      return raw
    }
  })
  out = out.replace(/(Error POSTing to endpoint \(HTTP \d+\)):[\s\S]*/, '$1')
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***')
  return out
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
