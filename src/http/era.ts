import type { IncomingMessage } from 'node:http'

/** The `_meta` key whose presence claims the 2026-07-28 per-request envelope. */
const ENVELOPE_CLAIM = 'io.modelcontextprotocol/protocolVersion'

function claimsEnvelope(message: unknown): boolean {
  const meta = (message as { params?: { _meta?: unknown } } | null)?.params?._meta
  return typeof meta === 'object' && meta !== null && ENVELOPE_CLAIM in meta
}

/**
 * Whether a Streamable HTTP request belongs to the 2026-07-28 era: a POST whose message carries the
 * per-request envelope claim, or whose `MCP-Protocol-Version` header names a 2026+ revision (the modern
 * path then answers a missing envelope with its own error). Everything else (`initialize`, session
 * GET/DELETE, claim-less messages) is 2025-era. This is the SDK's `isLegacyRequest` rule, read from the
 * body already parsed so the common 2025 path builds no web `Request`.
 */
export function isModernRequest(req: IncomingMessage, body: unknown): boolean {
  if (req.method !== 'POST') return false
  const header = req.headers['mcp-protocol-version']
  if (typeof header === 'string' && header.trim() >= '2026') return true
  return Array.isArray(body) ? body.some(claimsEnvelope) : claimsEnvelope(body)
}
