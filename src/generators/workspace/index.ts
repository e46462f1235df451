import { renderTemplates } from '../render.js'
import { versions } from '../../versions.js'
import type { Tree } from '../../tree/tree.js'
import { serverGenerator, type ServerGeneratorResult } from '../server/index.js'
import { PRESET_NAMES } from '../server/presets.js'
import { syncGenerator } from '../sync/index.js'

export interface WorkspaceGeneratorOptions {
  packageName: string
  dirName: string
  /** How the workspace depends on airmcp (`file:...` or `^x.y.z`). */
  runtime: string
  /** Add the seed's three servers (search, files, analytics) and register them. */
  example?: boolean
  force?: boolean
  gatewayPort?: number
}

export interface WorkspaceGeneratorResult {
  servers: ServerGeneratorResult[]
}

function normalizeOptions(options: WorkspaceGeneratorOptions) {
  return {
    ...options,
    scope: options.dirName,
    gatewayName: `${options.dirName}-gateway`,
    gatewayPort: options.gatewayPort ?? 4000,
    versions,
  }
}

/** Plans a workspace: npm workspaces `servers/*` and `gateway`, and with `example` the seed's servers. */
export async function workspaceGenerator(tree: Tree, options: WorkspaceGeneratorOptions): Promise<WorkspaceGeneratorResult> {
  const normalized = normalizeOptions(options)
  const servers: ServerGeneratorResult[] = []
  // The root package.json first: server generators read the scope and runtime from it.
  const files = await renderTemplates('workspace', { ...normalized, servers: [] })
  for (const [path, content] of files) if (path !== 'README.md') tree.create(path, content, options.force)
  if (options.example) {
    for (const preset of PRESET_NAMES) servers.push(await serverGenerator(tree, { name: preset, preset, force: options.force }))
    await syncGenerator(tree)
  }
  const readme = await renderTemplates('workspace', {
    ...normalized,
    servers: servers.map((s) => ({ name: s.name, transport: s.transport.type, port: 'port' in s.transport ? s.transport.port : null })),
  })
  tree.create('README.md', readme.get('README.md')!, options.force)
  return { servers }
}
