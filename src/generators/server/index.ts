import { AirmcpError } from '../../lib/errors.js'
import { validateServerName } from '../../lib/names.js'
import { quote, renderTemplate, renderTemplates } from '../../lib/render.js'
import { listServers, workspaceInfo } from '../../lib/workspace.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TEMPLATES_DIR } from '../../lib/render.js'
import type { ToolSpec, ToolSpecParam, ToolSpecTool, ToolSpecTransport } from '../../spec/schema.js'
import type { Tree } from '../../tree/tree.js'
import { PRESET_SAMPLE_ARGS, PRESETS } from './presets.js'

export interface ServerGeneratorOptions {
  name: string
  /** A parsed tool spec (from --spec), a preset name, or neither (flags describe the server). */
  spec?: ToolSpec
  preset?: string
  transport?: 'stdio' | 'sse' | 'http'
  port?: number
  tools?: string[]
  force?: boolean
}

export interface ServerGeneratorResult {
  name: string
  dir: string
  transport: ToolSpecTransport
  tools: string[]
}

const FIRST_PORT = 3510

/** The first port from 3510 up that no other server of the workspace uses. */
function pickPort(tree: Tree, self: string): number {
  const used = new Set(listServers(tree).filter((s) => s.name !== self).map((s) => s.declared?.port))
  let port = FIRST_PORT
  while (used.has(port)) port++
  return port
}

function normalizeOptions(tree: Tree, options: ServerGeneratorOptions) {
  validateServerName(options.name)
  const dir = `servers/${options.name}`
  if (tree.exists(`${dir}/package.json`) && !options.force) {
    throw new AirmcpError('SERVER_EXISTS', `Server "${options.name}" already exists in "${dir}".`, 'use --force to regenerate it, or choose another name.')
  }
  let spec: ToolSpec
  if (options.preset) {
    spec = structuredClone(PRESETS[options.preset])
    if (!spec) throw new AirmcpError('UNKNOWN_PRESET', `Unknown preset "${options.preset}".`, `use one of ${Object.keys(PRESETS).join(', ')}.`)
  } else if (options.spec) {
    spec = structuredClone(options.spec)
  } else {
    const tools = options.tools?.length ? options.tools : ['hello']
    spec = {
      tools: tools.map((tool) => ({
        name: tool,
        description: `TODO: describe ${tool}`,
        params: { input: { type: 'string', description: 'Input text' } },
      })),
    }
  }
  const seen = new Set<string>()
  for (const tool of spec.tools) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) {
      throw new AirmcpError('INVALID_TOOL', `Invalid tool name "${tool.name}".`, 'use 1-64 letters, digits, "_" or "-".')
    }
    if (seen.has(tool.name)) throw new AirmcpError('DUPLICATE_TOOL', `Tool "${tool.name}" is listed twice.`, 'give each tool its own name.')
    seen.add(tool.name)
  }
  const type = options.transport ?? spec.transport?.type ?? 'sse'
  let transport: ToolSpecTransport
  if (type === 'stdio') transport = { type }
  else {
    const specPort = spec.transport && spec.transport.type !== 'stdio' ? spec.transport.port : undefined
    const port = options.port ?? (options.transport && options.transport !== spec.transport?.type ? undefined : specPort) ?? pickPort(tree, options.name)
    const owner = listServers(tree).find((s) => s.name !== options.name && s.declared?.port === port)
    if (owner) {
      throw new AirmcpError('PORT_IN_USE', `Port ${port} is already used by server "${owner.name}" (${owner.dir}/package.json).`, 'choose another --port, or leave it out to pick a free one.')
    }
    transport = type === 'http' ? { type, port, ...(spec.transport?.type === 'http' && spec.transport.path ? { path: spec.transport.path } : {}) } : { type, port }
  }
  if (options.preset && options.transport && options.transport !== PRESETS[options.preset].transport?.type) {
    throw new AirmcpError('PRESET_TRANSPORT', `Preset "${options.preset}" is written for ${PRESETS[options.preset].transport?.type}.`, 'leave out --transport with --preset, or use --spec to describe another server.')
  }
  const { scope, runtime } = workspaceInfo(tree)
  return { ...options, dir, spec: { ...spec, transport }, transport, scope, runtime, serverName: spec.name ?? `${options.name}-server` }
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

function toolView(tool: ToolSpecTool) {
  const names = Object.keys(tool.params ?? {})
  const required = Object.entries(tool.params ?? {}).filter(([, p]) => !p.optional && p.default === undefined)
  return {
    ...tool,
    description: tool.description ?? '',
    layer: tool.layer ?? 0,
    paramsCode: names.length ? Object.entries(tool.params!).map(([n, p]) => paramCode(n, p)).join('\n') : '',
    argsCode: names.length ? `{ ${names.join(', ')} }` : '',
    placeholderCode: names.length
      ? `{ todo: ${quote(`implement ${tool.name}`)}, ${names.join(', ')} }`
      : `{ todo: ${quote(`implement ${tool.name}`)} }`,
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
  const tools = options.spec.tools.map(toolView)
  const vars = {
    name: options.name,
    scope: options.scope,
    runtime: options.runtime,
    transport: options.transport,
    transportJson: JSON.stringify(options.transport),
    toolNames: tools.map((t) => t.name),
    tools,
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
}

/** Plans `servers/<name>/` (package.json, tsconfig.json, src/index.ts, a test) from a spec, a preset or flags. */
export async function serverGenerator(tree: Tree, options: ServerGeneratorOptions): Promise<ServerGeneratorResult> {
  const normalized = normalizeOptions(tree, options)
  await addFiles(tree, normalized)
  return { name: normalized.name, dir: normalized.dir, transport: normalized.transport, tools: normalized.spec.tools.map((t) => t.name) }
}
