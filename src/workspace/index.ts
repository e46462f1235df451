/**
 * The one model of an airmcp workspace: its servers (name, transport, port, registration state), its
 * gateway file and port, and its packages. Commands read it once (`readWorkspace`) and pass it on;
 * nothing else parses server sources or the gateway file to learn these facts.
 *
 * @example
 * const workspace = await readWorkspace(findWorkspaceRoot())
 * for (const server of workspace.servers) console.log(server.name, server.transport.type, server.port, server.registration.status)
 */
import { AirmcpError } from '../errors.js'
import { Tree } from '../tree/tree.js'
import { type GatewayFile, GATEWAY_FILE, readGatewayFile } from './gateway-file.js'
import { readJson } from './json.js'
import { requireMorph } from './literals.js'
import { ParseCache } from './parse-cache.js'
import { matchRegistrations, type RegistrationMatch, registrationStatus, type RegistrationStatus } from './registrations.js'
import { readServerFiles, type ServerFiles, type ServerTransport, serverNames, sourceTransport } from './servers.js'
import { defaultRuntimeSpec } from './root.js'

export { DEFAULT_GATEWAY_PORT, GATEWAY_FILE, type GatewayFile, type Registration } from './gateway-file.js'
export { desiredConnection, sameConnection, type RegistrationStatus } from './registrations.js'
export { findWorkspaceRoot, tryWorkspaceRoot, PACKAGE_ROOT, PACKAGE_VERSION, defaultRuntimeSpec } from './root.js'
export type { ServerFiles, ServerTransport } from './servers.js'

/** One server of the workspace. */
export interface WorkspaceServer extends ServerFiles {
  /** The port it listens on (sse/http), from the source literal or else package.json. */
  port?: number
  /** Its standing in the gateway file, and the ids of the registrations sync manages for it. */
  registration: { status: RegistrationStatus; ids: string[] }
}

export interface Workspace {
  /** Absolute path of the workspace root. */
  root: string
  /** The root package.json `name`, its unscoped form (the npm scope of its packages) and how it depends on airmcp. */
  name: string
  scope: string
  runtime: string
  /** Every package of the workspace (`gateway`, `servers/*`) with its package.json name. */
  packages: { dir: string; name?: string }[]
  servers: WorkspaceServer[]
  /** The parsed gateway file; undefined when it is missing or unreadable (then `gatewayProblem` says why). */
  gateway?: GatewayFile
  gatewayProblem?: AirmcpError
  /** How the gateway's registrations relate to the servers (empty without a gateway file). */
  registrations: RegistrationMatch
}

/** Options a command passes when it has a tree with planned changes the model must see. */
export type WorkspaceSource = string | Tree

/**
 * Reads the workspace at `root` (or through a tree, seeing its planned changes): each server's package.json
 * and source, and the gateway file. Each text is parsed once: a text parsed before (by its hash, ParseCache)
 * is not parsed again, so ts-morph is loaded only when a source changed. Throws when a server's transport cannot
 * be told; a missing or unparsable gateway file is recorded in `gatewayProblem` instead, so `list` still works.
 */
export async function readWorkspace(source: WorkspaceSource): Promise<Workspace> {
  const tree = typeof source === 'string' ? new Tree(source) : source
  const cache = new ParseCache(tree.memory ? undefined : tree.root)
  const pkg = readJson<{ name?: string; devDependencies?: Record<string, string>; dependencies?: Record<string, string> }>(tree, 'package.json')
  const name = pkg?.name ?? 'workspace'
  const transportOf = (path: string, text: string) => cache.get(SERVER_SOURCE, text, () => sourceTransport(requireMorph(), path, text))
  const servers = serverNames(tree).map((server) => readServerFiles(transportOf, tree, server))
  let gateway: GatewayFile | undefined
  let gatewayProblem: AirmcpError | undefined
  const text = tree.read(GATEWAY_FILE)
  if (text === undefined) {
    gatewayProblem = new AirmcpError('NO_GATEWAY_FILE', `"${GATEWAY_FILE}" does not exist.`, 'create the workspace with airmcp new, or restore the file.')
  } else {
    const parsed = cache.get('gateway', text, () => parseGatewayFile(text))
    gateway = parsed.gateway
    if (parsed.problem) gatewayProblem = new AirmcpError(parsed.problem.code, parsed.problem.message, parsed.problem.suggestion)
  }
  cache.save()
  return assemble({
    root: tree.root,
    name,
    scope: name.replace(/^@[^/]+\//, ''),
    runtime: pkg?.devDependencies?.airmcp ?? pkg?.dependencies?.airmcp ?? defaultRuntimeSpec(),
    packages: [{ dir: 'gateway', name: readJson<{ name?: string }>(tree, 'gateway/package.json')?.name }],
    gateway,
    gatewayProblem,
    servers,
  })
}

const SERVER_SOURCE = 'server source'

/**
 * Tells the parse cache the transport of a server source a generator has just written with that transport as a
 * literal, so that the next command does not load TypeScript to read it back.
 */
export function rememberServerSource(root: string, text: string, transport: ServerTransport): void {
  new ParseCache(root).remember(SERVER_SOURCE, text, transport)
}

/** The gateway file read, or the error that says why it cannot be, as data the parse cache can keep. */
function parseGatewayFile(text: string): { gateway?: GatewayFile; problem?: { code: string; message: string; suggestion?: string } } {
  const morph = requireMorph()
  try {
    return { gateway: readGatewayFile(morph, new morph.Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true }), text) }
  } catch (error) {
    if (!(error instanceof AirmcpError)) throw error
    return { problem: { code: error.code, message: error.message, suggestion: error.suggestion } }
  }
}

type Parts = Omit<Workspace, 'servers' | 'registrations'> & { servers: ServerFiles[] }

function assemble(parts: Parts): Workspace {
  const files = parts.servers
  const registrations = matchRegistrations(files, parts.gateway?.registrations ?? [])
  const packages = [...parts.packages.filter((p) => p.dir === 'gateway'), ...files.map((s) => ({ dir: s.dir, name: s.packageName }))]
  const servers = files.map((server) => {
    const managed = registrations.managed.get(server.name)
    return {
      ...server,
      port: 'port' in server.transport ? server.transport.port : undefined,
      registration: {
        status: parts.gateway ? registrationStatus(server, managed) : ('unknown' as const),
        ids: (managed ?? []).map((r) => r.id),
      },
    }
  })
  return { ...parts, packages, servers, registrations }
}

/** The model with one server added or replaced (as a generator planned it), registrations re-matched. */
export function withServer(workspace: Workspace, server: ServerFiles): Workspace {
  const others = workspace.servers.filter((s) => s.name !== server.name)
  const servers = [...others, server].sort((a, b) => a.name.localeCompare(b.name))
  return assemble({ ...workspace, servers })
}

/** The gateway file, or the error that says why there is none to edit. */
export function requireGateway(workspace: Workspace): GatewayFile {
  if (workspace.gateway) return workspace.gateway
  throw workspace.gatewayProblem ?? new AirmcpError('NO_GATEWAY_FILE', `"${GATEWAY_FILE}" does not exist.`, 'restore the file.')
}

/**
 * Who already uses a port: the gateway, or a server whose source or package.json names it (both count:
 * they disagree after a hand edit). `except` leaves out the server being regenerated.
 */
export function portOwner(workspace: Workspace, port: number, except?: string): string | undefined {
  if (workspace.gateway?.port === port) return `the gateway (${GATEWAY_FILE})`
  for (const server of workspace.servers) {
    if (server.name === except) continue
    if (server.ports.source === port) return `server "${server.name}" (${server.dir}/src/index.ts)`
    if (server.ports.packageJson === port) return `server "${server.name}" (${server.dir}/package.json)`
  }
  return undefined
}
