// The 2026-07-28 standard request headers (SEP-2243) as the gateway's per-request codec checks them, and its refusals.
import type { IncomingMessage } from 'node:http'
import { isRecord } from '../../http/jsonrpc.js'
import { decodeHeaderValue, MCP_NAME_FIELD } from '../../http/param-headers.js'
import { HEADER_MISMATCH } from '../../protocol/codes.js'

/** A JSON-RPC error to answer with, and the HTTP status it goes out on. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly message: string,
    readonly data?: unknown,
  ) {}
}

export const headerOf = (req: IncomingMessage, name: string) => {
  const value = req.headers[name]
  return typeof value === 'string' ? value.trim() : undefined
}

function mismatch(header: string, body: string): Refusal {
  return new Refusal(400, HEADER_MISMATCH, `Bad Request: the request headers and body disagree: ${body}`, { mismatch: { header, body } })
}

/** The standard request headers a 2026 request must carry and that must agree with its body (SEP-2243). */
export function standardHeaderRefusal(req: IncomingMessage, method: string, params: unknown, revision: string | undefined): Refusal | undefined {
  if (headerOf(req, 'mcp-protocol-version') === undefined) {
    return mismatch(
      '(missing)',
      revision === undefined
        ? 'the body carries a modern per-request envelope but the required MCP-Protocol-Version header is absent'
        : `the body envelope names protocol version ${revision} but the required MCP-Protocol-Version header is absent`,
    )
  }
  if (headerOf(req, 'mcp-method') === undefined) return mismatch('(missing)', `the body names method ${method} but the required Mcp-Method header is absent`)
  const field = Object.hasOwn(MCP_NAME_FIELD, method) ? MCP_NAME_FIELD[method] : undefined
  if (field === undefined) return undefined
  const raw = isRecord(params) ? params[field] : undefined
  const bodyValue = typeof raw === 'string' ? raw : undefined
  const header = headerOf(req, 'mcp-name')
  if (header === undefined) {
    return bodyValue === undefined ? undefined : mismatch('(missing)', `the body carries params.${field}="${bodyValue}" but the required Mcp-Name header is absent`)
  }
  const decoded = decodeHeaderValue(header)
  if (decoded === undefined) return mismatch(header, 'the Mcp-Name header carries an invalid Base64 sentinel value')
  if (bodyValue !== undefined && decoded !== bodyValue) {
    return mismatch(header, `the body carries params.${field}="${bodyValue}" but the Mcp-Name header names "${decoded}"`)
  }
  return undefined
}
