import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AirmcpError } from '../../errors.js'
import { FIRST_UNPRIVILEGED_PORT } from '../../names.js'
import type { ToolSpec, ToolSpecParam, ToolSpecTool, ToolSpecTransport } from '../../spec/schema.js'
import type { Tree } from '../../tree/tree.js'
import { portOwner, readWorkspace, type ServerFiles, type ServerTransport, type Workspace } from '../../workspace/index.js'
import { validateServerName, validateToolName } from '../../workspace/names.js'
import { quote, renderTemplate, renderTemplates, TEMPLATES_DIR } from '../render.js'
import { PRESET_ASSETS, PRESET_SAMPLE_ARGS, PRESETS } from './presets.js'

export interface ServerGeneratorOptions {
  name: string
  /** A parsed tool spec (from --spec), a preset name, or neither (flags describe the server). */
  spec?: ToolSpec
  preset?: string
  transport?: 'stdio' | 'sse' | 'http'
  port?: number
  tools?: string[]
  /** An OAuth 2.1 protected resource (sse/http): `auth` from OAUTH_ISSUER and OAUTH_AUDIENCE, `ctx.auth` in handlers. */
  auth?: boolean
  force?: boolean
}

export interface ServerGeneratorResult {
  name: string
  dir: string
  transport: ToolSpecTransport
  tools: string[]
  /** The server as the workspace model will read it, for `withServer` and sync. */
  files: ServerFiles
}

const FIRST_PORT = 3510

/** The first port from 3510 up that neither the gateway nor any other server (source or package.json) uses. */
export function pickPort(workspace: Workspace, self: string): number {
  let port = FIRST_PORT
  while (portOwner(workspace, port, self)) port++
  return port
}

/** Refuses a port the server cannot have: privileged, or already used by the gateway or another server. */
export function ensurePortFree(workspace: Workspace, name: string, port: number, from: string): void {
  if (port < FIRST_UNPRIVILEGED_PORT) {
    throw new AirmcpError(
      'PRIVILEGED_PORT',
      `Port ${port} (${from}) is below ${FIRST_UNPRIVILEGED_PORT}: the server would need root to listen on it.`,
      `choose --port ${FIRST_UNPRIVILEGED_PORT} or above, or leave it out to pick a free one.`,
    )
  }
  const owner = portOwner(workspace, port, name)
  if (owner) {
    throw new AirmcpError('PORT_IN_USE', `Port ${port} is already used by ${owner}.`, 'choose another --port, or leave it out to pick a free one.')
  }
}

/** Refuses a server whose package name (`@scope/name`) another workspace package already has. */
function ensurePackageNameFree(workspace: Workspace, name: string): string {
  const packageName = `@${workspace.scope}/${name}`
  const owner = workspace.packages.find((p) => p.name === packageName && p.dir !== `servers/${name}`)
  if (owner) {
    throw new AirmcpError(
      'PACKAGE_NAME_TAKEN',
      `Server "${name}" would be package "${packageName}", which "${owner.dir}/package.json" already is (npm refuses two workspaces with one name).`,
      'choose another server name.',
    )
  }
  return packageName
}

function chooseSpec(options: ServerGeneratorOptions): ToolSpec {
  if (options.preset) {
    const preset = PRESETS[options.preset]
    if (!preset) throw new AirmcpError('UNKNOWN_PRESET', `Unknown preset "${options.preset}".`, `use one of ${Object.keys(PRESETS).join(', ')}.`)
    return structuredClone(preset)
  }
  if (options.spec) return structuredClone(options.spec)
  const tools = options.tools?.length ? options.tools : ['hello']
  return {
    tools: tools.map((tool) => ({ name: tool, description: `TODO: describe ${tool}`, params: { input: { type: 'string', description: 'Input text' } } })),
  }
}

function ensureToolNames(spec: ToolSpec): void {
  const seen = new Set<string>()
  for (const tool of spec.tools) {
    validateToolName(tool.name)
    if (seen.has(tool.name)) throw new AirmcpError('DUPLICATE_TOOL', `Tool "${tool.name}" is listed twice.`, 'give each tool its own name.')
    seen.add(tool.name)
  }
}

/** The transport from flags, else the spec, else sse on a free port; every port checked against the workspace. */
function chooseTransport(workspace: Workspace, options: ServerGeneratorOptions, spec: ToolSpec): ServerTransport {
  const type = options.transport ?? spec.transport?.type ?? 'sse'
  if (type === 'stdio') {
    if (options.port !== undefined) {
      throw new AirmcpError('PORT_WITH_STDIO', `--port ${options.port} means nothing for a stdio server: the gateway launches it as a child.`, 'leave out --port, or use --transport sse or http.')
    }
    return { type }
  }
  const specPort = spec.transport && spec.transport.type !== 'stdio' ? spec.transport.port : undefined
  const fromSpec = options.transport && options.transport !== spec.transport?.type ? undefined : specPort
  const port = options.port ?? fromSpec ?? pickPort(workspace, options.name)
  ensurePortFree(workspace, options.name, port, options.port !== undefined ? '--port' : 'the spec')
  const path = spec.transport?.type === 'http' && spec.transport.path ? { path: spec.transport.path } : {}
  return type === 'http' ? { type, port, ...path } : { type, port }
}

function normalizeOptions(tree: Tree, workspace: Workspace, options: ServerGeneratorOptions) {
  validateServerName(options.name)
  const dir = `servers/${options.name}`
  if (tree.exists(`${dir}/package.json`) && !options.force) {
    throw new AirmcpError('SERVER_EXISTS', `Server "${options.name}" already exists in "${dir}".`, 'use --force to regenerate it, or choose another name.')
  }
  const packageName = ensurePackageNameFree(workspace, options.name)
  const spec = chooseSpec(options)
  ensureToolNames(spec)
  if (options.preset && options.transport && options.transport !== PRESETS[options.preset].transport?.type) {
    throw new AirmcpError('PRESET_TRANSPORT', `Preset "${options.preset}" is written for ${PRESETS[options.preset].transport?.type}.`, 'leave out --transport with --preset, or use --spec to describe another server.')
  }
  if (options.auth) ensureAuthFits(options, options.transport ?? spec.transport?.type)
  const transport = chooseTransport(workspace, options, spec)
  const { scope, runtime } = workspace
  return { ...options, dir, packageName, spec: { ...spec, transport }, transport, scope, runtime, serverName: spec.name ?? `${options.name}-server` }
}

/** --auth guards an HTTP front: a stdio child has none, and a preset's source is fixed. */
function ensureAuthFits(options: ServerGeneratorOptions, type: string | undefined): void {
  if (type === 'stdio') {
    throw new AirmcpError('AUTH_WITH_STDIO', '--auth protects an HTTP endpoint, and a stdio server has none: the gateway launches it as a child.', 'use --transport http (or sse) with --auth, or leave out --auth and protect the gateway instead.')
  }
  if (options.preset) {
    throw new AirmcpError('AUTH_WITH_PRESET', `--auth cannot change preset "${options.preset}": its source is written out as is.`, "leave out --preset (use --spec or --tool), or add auth: { issuer, audience } to the preset's defineServer yourself.")
  }
}

type Normalized = ReturnType<typeof normalizeOptions>

function transportCode(transport: ToolSpecTransport): string {
  if (transport.type === 'stdio') return "{ type: 'stdio' }"
  const path = transport.type === 'http' && transport.path ? `, path: ${quote(transport.path)}` : ''
  return `{ type: '${transport.type}', port: ${transport.port}${path} }`
}

function paramCode(name: string, param: ToolSpecParam): string {
  const parts = [`type: ${quote(param.type)}`]
  if (param.description) parts.push(`description: ${quote(param.description)}`)
  if (param.optional) parts.push('optional: true')
  if (param.enum) parts.push(`enum: [${param.enum.map((v) => (typeof v === 'string' ? quote(v) : String(v))).join(', ')}]`)
  if (param.default !== undefined) parts.push(`default: ${JSON.stringify(param.default)}`)
  return `        ${name}: { ${parts.join(', ')} },`
}

function sampleValue(param: ToolSpecParam): unknown {
  if (param.enum) return param.enum[0]
  if (param.default !== undefined) return param.default
  return { string: 'example', number: 1, integer: 1, boolean: true, object: {}, array: [] }[param.type]
}

function toolView(tool: ToolSpecTool, auth = false) {
  const names = Object.keys(tool.params ?? {})
  const required = Object.entries(tool.params ?? {}).filter(([, p]) => !p.optional && p.default === undefined)
  return {
    ...tool,
    description: tool.description ?? '',
    layer: tool.layer ?? 0,
    paramsCode: names.length ? Object.entries(tool.params!).map(([n, p]) => paramCode(n, p)).join('\n') : '',
    argsCode: names.length ? `{ ${names.join(', ')} }` : '',
    placeholderCode: `{ ${[`todo: ${quote(`implement ${tool.name}`)}`, ...names, ...(auth ? ['caller: ctx.auth?.sub ?? null'] : [])].join(', ')} }`,
    sampleArgs: JSON.stringify(
      PRESET_SAMPLE_ARGS[tool.name] ?? Object.fromEntries(required.map(([n, p]) => [n, sampleValue(p)])),
    ),
  }
}

function pluginsCode(spec: ToolSpec): string {
  return (spec.plugins ?? [])
    .map((plugin) => {
      if ('cache' in plugin) {
        const exclude = plugin.cache.exclude?.length ? `, exclude: [${plugin.cache.exclude.map(quote).join(', ')}]` : ''
        return `cachePlugin({ ttlMs: ${plugin.cache.ttlMs}${exclude} })`
      }
      if ('timeout' in plugin) return `timeoutPlugin(${plugin.timeout.ms})`
      if ('retry' in plugin) return `retryPlugin(${plugin.retry.retries === undefined ? '' : `{ retries: ${plugin.retry.retries} }`})`
      return `loggerPlugin(${plugin.logger.json ? '{ json: true }' : ''})`
    })
    .join(', ')
}

function importsCode(spec: ToolSpec): string {
  const names = ['defineServer', 'defineTool']
  if (spec.resources?.length) names.push('defineResource')
  for (const plugin of spec.plugins ?? []) names.push(`${Object.keys(plugin)[0]}Plugin`)
  return [...new Set(names)].join(', ')
}

async function addFiles(tree: Tree, options: Normalized): Promise<void> {
  const tools = options.spec.tools.map((tool) => toolView(tool, options.auth))
  const vars = {
    name: options.name,
    scope: options.scope,
    runtime: options.runtime,
    transport: options.transport,
    transportJson: JSON.stringify(options.transport),
    toolNames: tools.map((t) => t.name),
    tools,
    auth: options.auth ?? false,
  }
  for (const [path, content] of await renderTemplates('server', vars)) {
    tree.create(`${options.dir}/${path}`, content, options.force)
  }
  const source = options.preset
    ? readFileSync(join(TEMPLATES_DIR, 'presets', options.preset, 'index.ts'), 'utf8')
    : await renderTemplate('server-source/index.ts.hbs', {
        ...vars,
        serverName: options.serverName,
        version: options.spec.version ?? '0.1.0',
        description: options.spec.description ?? '',
        transportCode: transportCode(options.transport),
        pluginsCode: pluginsCode(options.spec),
        imports: importsCode(options.spec),
        resources: (options.spec.resources ?? []).map((r) => ({ description: '', mimeType: '', ...r })),
      })
  tree.create(`${options.dir}/src/index.ts`, source, options.force)
  for (const asset of PRESET_ASSETS[options.preset ?? ''] ?? []) {
    tree.create(`${options.dir}/src/${asset}`, readFileSync(join(TEMPLATES_DIR, 'presets', options.preset!, asset), 'utf8'), options.force)
  }
}

/**
 * Plans `servers/<name>/` (package.json, tsconfig.json, src/index.ts, a test) from a spec, a preset or flags.
 * Pass the workspace model when the command has read it; otherwise it is read through the tree.
 */
export async function serverGenerator(tree: Tree, options: ServerGeneratorOptions, workspace?: Workspace): Promise<ServerGeneratorResult> {
  const normalized = normalizeOptions(tree, workspace ?? (await readWorkspace(tree)), options)
  await addFiles(tree, normalized)
  const { transport } = normalized
  const port = 'port' in transport ? transport.port : undefined
  return {
    name: normalized.name,
    dir: normalized.dir,
    transport,
    tools: normalized.spec.tools.map((t) => t.name),
    files: {
      name: normalized.name,
      dir: normalized.dir,
      packageName: normalized.packageName,
      transport,
      transportFrom: 'source',
      ports: { source: port, packageJson: port },
    },
  }
}
