import { AirmcpError } from '../../errors.js'
import { isLoopbackHost } from '../../names.js'
import { readJson } from '../../workspace/json.js'
import { versions } from '../../versions.js'
import type { Tree } from '../../tree/tree.js'
import { readWorkspace, requireGateway, type ServerTransport } from '../../workspace/index.js'

export interface DeployServer {
  name: string
  /** `servers/<name>` */
  dir: string
  transport: ServerTransport
}

/** Everything the deploy generators need to know about a workspace, read once. */
export interface DeployModel {
  /** Workspace packages by name (`@ws/common` → `libs/common`), for what each image needs besides itself. */
  packages: Map<string, { dir: string; dependencies: string[] }>
  /** DNS-safe workspace name: the prefix of image names and the `part-of` label. */
  workspace: string
  /** Servers that run in their own container (SSE and HTTP). */
  networked: (DeployServer & { transport: { type: 'sse' | 'http'; port: number; path?: string } })[]
  /** Servers the gateway launches itself: built into the gateway's image. */
  stdio: DeployServer[]
  gatewayPort: number
  /** The workspace depends on airmcp through a path or a tarball: images need it packed into the context. */
  localRuntime: boolean
  /** The default base image of every Dockerfile. */
  nodeImage: string
}

/** RFC 1123 label starting with a letter: what Kubernetes Service names and compose hostnames accept. */
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/

/** A dependency spec that names a folder or a tarball rather than a registry version. */
export function isLocalSpec(spec: string): boolean {
  return /^(file:|link:|\.{0,2}\/|~\/)/.test(spec) || /\.(tgz|tar\.gz)$/.test(spec)
}

function dnsName(text: string): string {
  const name = text
    .replace(/^@[^/]+\//, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+|-+$/g, '')
    .slice(0, 40)
  return name || 'airmcp'
}

function runtimeSpecs(tree: Tree, dirs: string[]): string[] {
  const specs: string[] = []
  for (const dir of ['', ...dirs]) {
    const pkg = readJson<Record<string, Record<string, string> | undefined>>(tree, dir ? `${dir}/package.json` : 'package.json')
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      const spec = pkg?.[field]?.airmcp
      if (typeof spec === 'string') specs.push(spec)
    }
  }
  return specs
}

/** Every package of the root's `workspaces` (`dir/*` patterns and plain folders) with its dependency names. */
function readPackages(tree: Tree): DeployModel['packages'] {
  const patterns = readJson<{ workspaces?: unknown }>(tree, 'package.json')?.workspaces
  const dirs = (Array.isArray(patterns) ? patterns : [])
    .filter((p): p is string => typeof p === 'string')
    .flatMap((pattern) => (pattern.endsWith('/*') ? tree.children(pattern.slice(0, -2)).map((n) => `${pattern.slice(0, -2)}/${n}`) : [pattern]))
  const packages: DeployModel['packages'] = new Map()
  for (const dir of dirs) {
    const pkg = tree.exists(`${dir}/package.json`) ? readJson<Record<string, unknown>>(tree, `${dir}/package.json`) : undefined
    if (typeof pkg?.name !== 'string') continue
    const names = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'].flatMap((field) =>
      Object.keys((pkg[field] as Record<string, string> | undefined) ?? {}),
    )
    packages.set(pkg.name, { dir, dependencies: names })
  }
  return packages
}

/** The folders an image builds: the workspace packages `dirs` depend on (dependencies first), then `dirs`. */
export function packagesFor(model: Pick<DeployModel, 'packages'>, dirs: string[]): string[] {
  const byDir = new Map([...model.packages.values()].map((p) => [p.dir, p]))
  const ordered: string[] = []
  const visit = (dir: string, path: string[]) => {
    if (ordered.includes(dir) || path.includes(dir)) return
    for (const name of byDir.get(dir)?.dependencies ?? []) {
      const dependency = model.packages.get(name)
      if (dependency) visit(dependency.dir, [...path, dir])
    }
    ordered.push(dir)
  }
  for (const dir of dirs) visit(dir, [])
  return ordered
}

/** Reads servers, transports, the gateway's port and how airmcp is depended on; refuses what cannot deploy. */
export async function readDeployModel(tree: Tree): Promise<DeployModel> {
  if (!tree.exists('package-lock.json')) {
    throw new AirmcpError(
      'NO_LOCKFILE',
      '"package-lock.json" does not exist: images install exactly what the lockfile pins.',
      'run npm install in the workspace root, then airmcp deploy again.',
    )
  }
  const workspace = await readWorkspace(tree)
  const servers: DeployServer[] = workspace.servers.map(({ name, dir, transport }) => ({ name, dir, transport }))
  for (const server of servers) {
    if (!DNS_LABEL.test(server.name) || server.name === 'gateway') {
      throw new AirmcpError(
        'INVALID_SERVICE_NAME',
        server.name === 'gateway'
          ? `"servers/gateway" would clash with the gateway's own service.`
          : `"servers/${server.name}" cannot name a service: deployed names must be DNS labels (lower-case letters, digits and "-", starting with a letter, at most 63 characters).`,
        `rename the folder, e.g. servers/${dnsName(server.name === 'gateway' ? 'gateway-server' : server.name)}, then run airmcp gateway sync and airmcp deploy again.`,
      )
    }
  }
  return {
    packages: readPackages(tree),
    workspace: dnsName(workspace.name),
    networked: servers.flatMap((s) => (s.transport.type === 'stdio' ? [] : [{ ...s, transport: s.transport }])),
    stdio: servers.filter((s) => s.transport.type === 'stdio'),
    gatewayPort: requireGateway(workspace).port,
    localRuntime: runtimeSpecs(tree, ['gateway', ...servers.map((s) => s.dir)]).some(isLocalSpec),
    nodeImage: versions.nodeImage,
  }
}

/** The URL the gateway reaches a networked server at, by its service name. */
export function serviceUrl(server: DeployModel['networked'][number]): string {
  const path = server.transport.type === 'http' ? (server.transport.path ?? '/mcp') : ''
  return `http://${server.name}:${server.transport.port}${path}`
}

/** What the gateway's AIRMCP_GATEWAY_OAUTH_ISSUER and AIRMCP_GATEWAY_OAUTH_AUDIENCE are set to. */
export interface GatewayOAuth {
  issuer: string
  audience: string
}

/** Refuses a half-given pair and an issuer a token could be forged through (plain http off loopback). */
export function checkGatewayOAuth(oauth: { issuer?: string; audience?: string }): GatewayOAuth {
  const { issuer, audience } = oauth
  if (!issuer || !audience) {
    throw new AirmcpError(
      'OAUTH_FLAGS_PAIR',
      `--oauth-${issuer ? 'audience' : 'issuer'} is missing: the gateway checks tokens against both an issuer and an audience.`,
      'pass both, e.g. --oauth-issuer https://login.example.com/ --oauth-audience https://mcp.example.com/mcp',
    )
  }
  let url: URL | undefined
  try {
    url = new URL(issuer)
  } catch {}
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ''))))) {
    throw new AirmcpError(
      'INVALID_OAUTH_ISSUER',
      `--oauth-issuer ${JSON.stringify(issuer)} is not an https URL (plain http only on localhost): tokens could not be trusted.`,
      "pass the issuer exactly as its metadata states it, e.g. --oauth-issuer https://login.example.com/",
    )
  }
  if (/[\s\0]/.test(audience)) {
    throw new AirmcpError('INVALID_OAUTH_AUDIENCE', `--oauth-audience ${JSON.stringify(audience)} has whitespace: no token's aud can equal it.`, 'pass the audience alone, e.g. --oauth-audience https://mcp.example.com/mcp')
  }
  return { issuer, audience }
}
