/**
 * The one module of the runtime and gateway that reads environment variables: each function turns the
 * variables of one part into the settings that part takes as options, so the rest of the library takes
 * options only. Deployments rely on these names (`airmcp deploy` writes them); the README lists them all.
 * An empty variable counts as unset.
 */

/** The variables as read: `process.env`, or a plain object in a test. */
export type Environment = Readonly<Record<string, string | undefined>>

function value(env: Environment, name: string): string | undefined {
  return env[name] || undefined
}

/** A port variable, checked: a bad value is a start-up error naming the variable, not a bind failure later. */
function port(env: Environment, name: string): number | undefined {
  const text = value(env, name)
  if (text === undefined) return undefined
  const number = Number(text)
  if (!Number.isInteger(number) || number < 0 || number > 65535) {
    throw new TypeError(`${name}="${text}" is not a port. Try this: ${name}=4000, or ${name}=0 for a free one.`)
  }
  return number
}

/** The key shared by replicas (`AIRMCP_SESSION_KEY`): signs 2025 session ids and, derived, a server's request state. */
const SESSION_KEY_ENV = 'AIRMCP_SESSION_KEY'

/** What a server (`defineServer`) takes from the environment; each overrides or defaults the option named. */
export interface ServerEnvironment {
  /** `AIRMCP_PORT`: overrides `transport.port` (0 picks a free one). */
  port?: number
  /** `AIRMCP_HOST`: overrides `transport.host`. */
  host?: string
  /** `AIRMCP_STATE_KEY`: `stateKey` when the code sets neither it nor `sessionKey`. */
  stateKey?: string
  /** `AIRMCP_SESSION_KEY`: `sessionKey` when the code sets none. */
  sessionKey?: string
  /** `AIRMCP_REPLICA_URL`: `replicaUrl` when the code sets none. */
  replicaUrl?: string
  /** `AIRMCP_SUPERVISED=1` (set by `airmcp start`/`airmcp dev`): stop when the supervisor goes away. */
  supervised: boolean
}

export function serverEnvironment(env: Environment = process.env): ServerEnvironment {
  return {
    port: port(env, 'AIRMCP_PORT'),
    host: value(env, 'AIRMCP_HOST'),
    stateKey: value(env, 'AIRMCP_STATE_KEY'),
    sessionKey: value(env, SESSION_KEY_ENV),
    replicaUrl: value(env, 'AIRMCP_REPLICA_URL'),
    supervised: env.AIRMCP_SUPERVISED === '1',
  }
}

/** The front's OAuth settings (the shape of `auth`). */
export interface OAuthEnvironment {
  issuer: string
  audience: string
  resource?: string
  scopesSupported?: string[]
}

/** What a gateway (`new Gateway`) takes from the environment; each overrides or defaults the option named. */
export interface GatewayEnvironment {
  /** `AIRMCP_GATEWAY_PORT`: overrides `port`. */
  port?: number
  /** `AIRMCP_GATEWAY_HOST`: overrides `host`. */
  host?: string
  /** `AIRMCP_GATEWAY_STDIO=1` or `--stdio` on the command line: `stdio` when the code sets none. */
  stdio: boolean
  /** `AIRMCP_GATEWAY_STATE_KEY`: `stateKey` when the code sets none. */
  stateKey?: string
  /** `AIRMCP_GATEWAY_TOKEN`: `authToken` when the code sets none (a deployment's Secret). */
  authToken?: string
  /** `AIRMCP_GATEWAY_OAUTH_*`: `auth` when the code sets none; read when asked, so only a gateway without `auth` checks them. */
  readonly auth: OAuthEnvironment | undefined
  /** `AIRMCP_SESSION_KEY`: `sessionKey` when the code sets none. */
  sessionKey?: string
  /** `AIRMCP_REPLICA_URL`: `replicaUrl` when the code sets none. */
  replicaUrl?: string
  /** `AIRMCP_LOCK`: `lock` when the code sets none. */
  lock?: string
  /** `AIRMCP_GATEWAY_PORT_MAP` (`3510=41001,…`): loopback upstream ports a supervisor moved. */
  portMap?: string
  /** `AIRMCP_TOKEN_STORE_KEY`: `tokenStoreKey` when the code sets none (the upstream token store's secret). */
  tokenStoreKey?: string
  /** `AIRMCP_DATA_DIR`: where the gateway keeps its files (the upstream token store), default `.airmcp`. */
  dataDir?: string
  /** Every `AIRMCP_UPSTREAM_<NAME>_URL`: where a pool's localhost registrations really are (deploy-env.ts). */
  upstreamUrls: Environment
  /** `AIRMCP_SUPERVISED=1` (set by `airmcp start`/`airmcp dev`): serve the supervisor's requests over IPC. */
  supervised: boolean
}

export function gatewayEnvironment(env: Environment = process.env, argv: readonly string[] = process.argv): GatewayEnvironment {
  const snapshot = { ...env }
  return {
    port: port(snapshot, 'AIRMCP_GATEWAY_PORT'),
    host: value(snapshot, 'AIRMCP_GATEWAY_HOST'),
    stdio: argv.includes('--stdio') || snapshot.AIRMCP_GATEWAY_STDIO === '1',
    stateKey: value(snapshot, 'AIRMCP_GATEWAY_STATE_KEY'),
    authToken: value(snapshot, 'AIRMCP_GATEWAY_TOKEN'),
    get auth() {
      return gatewayAuth(snapshot)
    },
    sessionKey: value(snapshot, SESSION_KEY_ENV),
    replicaUrl: value(snapshot, 'AIRMCP_REPLICA_URL'),
    lock: value(snapshot, 'AIRMCP_LOCK'),
    portMap: value(snapshot, 'AIRMCP_GATEWAY_PORT_MAP'),
    tokenStoreKey: value(snapshot, 'AIRMCP_TOKEN_STORE_KEY'),
    dataDir: value(snapshot, 'AIRMCP_DATA_DIR'),
    upstreamUrls: Object.fromEntries(Object.entries(snapshot).filter(([name, url]) => url && /^AIRMCP_UPSTREAM_\w+_URL$/.test(name))),
    supervised: snapshot.AIRMCP_SUPERVISED === '1',
  }
}

/**
 * AIRMCP_GATEWAY_OAUTH_ISSUER and AIRMCP_GATEWAY_OAUTH_AUDIENCE (both or neither), AIRMCP_GATEWAY_OAUTH_RESOURCE
 * (the public URL) and AIRMCP_GATEWAY_OAUTH_SCOPES (space-separated scopes supported).
 */
function gatewayAuth(env: Environment): OAuthEnvironment | undefined {
  const issuer = value(env, 'AIRMCP_GATEWAY_OAUTH_ISSUER')
  const audience = value(env, 'AIRMCP_GATEWAY_OAUTH_AUDIENCE')
  if (!issuer && !audience) return undefined
  if (!issuer || !audience) {
    throw new TypeError('AIRMCP_GATEWAY_OAUTH_ISSUER and AIRMCP_GATEWAY_OAUTH_AUDIENCE go together. Try this: set both (the issuer URL and the audience of its tokens), or neither.')
  }
  const scopes = env.AIRMCP_GATEWAY_OAUTH_SCOPES?.split(' ').filter(Boolean)
  return { issuer, audience, resource: value(env, 'AIRMCP_GATEWAY_OAUTH_RESOURCE'), scopesSupported: scopes?.length ? scopes : undefined }
}

/** `AIRMCP_LOG_FORMAT=json`: the library's own stderr lines as JSON. Read per line, like the level. */
export function logFormat(env: Environment = process.env): 'json' | 'text' {
  return env.AIRMCP_LOG_FORMAT === 'json' ? 'json' : 'text'
}

/** `AIRMCP_LOG_LEVEL`: the lowest level written (`debug`, `info` (default), `warn`, `error`). */
export function logLevel(env: Environment = process.env): string | undefined {
  return value(env, 'AIRMCP_LOG_LEVEL')
}

/** The standard OpenTelemetry variables the library's tracing honours (the SDK's own reads aside). */
export interface TracingEnvironment {
  /** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`: turns tracing on when `tracing` is unset. */
  endpoint?: string
  /** `OTEL_SDK_DISABLED=true`: tracing off whatever the option says. */
  disabled: boolean
  /** `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. */
  sampler?: string
  samplerArg?: string
  /** `OTEL_BSP_SCHEDULE_DELAY`: ms between span batches. */
  scheduleDelay?: string
  /** `OTEL_SERVICE_NAME`: `tracing.serviceName` when the code sets none. */
  serviceName?: string
}

export function tracingEnvironment(env: Environment = process.env): TracingEnvironment {
  return {
    endpoint: value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    disabled: env.OTEL_SDK_DISABLED === 'true',
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerArg: env.OTEL_TRACES_SAMPLER_ARG,
    scheduleDelay: env.OTEL_BSP_SCHEDULE_DELAY,
    serviceName: value(env, 'OTEL_SERVICE_NAME'),
  }
}

/** The environment a child process starts with: this process's, passed on unread, plus `extra`. */
export function childEnvironment(extra: Environment = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra }
}
