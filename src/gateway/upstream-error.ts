import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { withoutCodePrefix } from './errors.js'

/**
 * An error to send to the client as its JSON-RPC error: code, message, data. SDK v1's McpError writes
 * "MCP error <code>: " into its message, and the server sends `message` as it is, so an error passed on
 * as an McpError reaches the client prefixed twice (`MCP error -32603: MCP error -32603: …`).
 */
export class RequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
    this.name = 'RequestError'
  }
}

/** The same error with the SDK's "MCP error <code>: " prefixes taken off its message, ready to send on. */
export function toRequestError(error: unknown): unknown {
  if (!(error instanceof McpError)) return error
  return new RequestError(error.code, withoutCodePrefix(error.message), error.data)
}
