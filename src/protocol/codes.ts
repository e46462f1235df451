// The JSON-RPC and MCP error codes airmcp sends and reads, by name: the runtime, its HTTP layer and the
// gateway take them from here, so no code is written as a number anywhere else.

/** JSON-RPC: the body is not JSON. */
export const PARSE_ERROR = -32700
/** JSON-RPC: not a valid request object. */
export const INVALID_REQUEST = -32600
/** JSON-RPC: no such method (here, or for this client). */
export const METHOD_NOT_FOUND = -32601
/** JSON-RPC: bad params; MCP also answers an unknown tool, prompt or resource with it. */
export const INVALID_PARAMS = -32602
/** JSON-RPC: the server failed. */
export const INTERNAL_ERROR = -32603
/** Implementation-defined server error: refused by a transport guard, or the connection closed (the SDK's ConnectionClosed). */
export const SERVER_ERROR = -32000
/** A request that did not finish in time, or a session that is gone (the SDK's RequestTimeout). */
export const REQUEST_TIMEOUT = -32001
/** MCP: resource not found; what earlier SDKs sent, read as INVALID_PARAMS by 2025 clients. */
export const RESOURCE_NOT_FOUND = -32002
/** A result that exceeded `maxResultBytes`: the upstream is fine, the answer is not forwarded. */
export const RESULT_TOO_LARGE = -32013
/** MCP 2026-07-28: the request's headers and body disagree. */
export const HEADER_MISMATCH = -32020
/** MCP 2026-07-28: the request needs a client capability it did not declare. */
export const MISSING_CLIENT_CAPABILITY = -32021
/** MCP 2025-11-25: the request needs a URL elicitation first (the client opens the URL, then retries). */
export const URL_ELICITATION_REQUIRED = -32042
/** Every member the client could use answered HTTP 429. */
export const UPSTREAM_BUSY = -32029
/** A principal past its rate limit (the gateway's own; UPSTREAM_BUSY is an upstream's 429). */
export const RATE_LIMITED = -32030
