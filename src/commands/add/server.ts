import { Args, Flags } from '@oclif/core'
import { applyTree, type ApplyResult } from '../../tree/apply.js'
import { BaseCommand, writeFlags } from '../../cli/base-command.js'
import { findWorkspaceRoot } from '../../workspace/root.js'
import { Tree } from '../../tree/tree.js'

export interface AddServerResult extends ApplyResult {
  server: string
  transport: string
  port?: number
  tools: string[]
  synced: boolean
}

export default class AddServer extends BaseCommand {
  static override summary = 'Generate a server under servers/ from a tool spec, a preset or flags.'
  static override description =
    'Writes servers/<name>/{package.json, tsconfig.json, src/index.ts} and a test that calls each tool through ' +
    'a real client, then registers the server in the gateway (gateway sync) unless --no-sync.'
  static override examples = [
    '<%= config.bin %> add server search --transport sse',
    '<%= config.bin %> add server notes --transport http --tool create --tool find',
    '<%= config.bin %> add server crm --spec crm.yaml',
    '<%= config.bin %> add server files --preset files',
    '<%= config.bin %> add server dash --preset app',
    '<%= config.bin %> add server crm --transport http --auth',
  ]
  static override args = { name: Args.string({ description: 'Server name (its folder under servers/)', required: true }) }
  static override flags = {
    ...writeFlags,
    transport: Flags.string({ options: ['stdio', 'sse', 'http'], description: 'How the server is served (default: the spec\'s, else sse).' }),
    port: Flags.integer({ min: 1, max: 65535, description: 'Port for sse/http, 1024 or above and not used by the gateway or another server (default: the first free from 3510).' }),
    spec: Flags.string({ description: 'A tool spec file (JSON or YAML).' }),
    tool: Flags.string({ multiple: true, description: 'A tool to stub (repeatable), when there is no spec.' }),
    preset: Flags.string({ options: ['search', 'files', 'analytics', 'app'], description: "One of the seed's servers, or app: a tool with an MCP App (HTML the host renders)." }),
    auth: Flags.boolean({ description: 'An OAuth 2.1 protected resource (sse/http): tokens from OAUTH_ISSUER for OAUTH_AUDIENCE when both are set; handlers read ctx.auth.' }),
    sync: Flags.boolean({ allowNo: true, default: true, description: 'Register the server in the gateway.' }),
  }

  async run(): Promise<AddServerResult> {
    const { args, flags } = await this.parse(AddServer)
    const root = findWorkspaceRoot()
    const tree = new Tree(root)
    const [{ serverGenerator }, { syncGenerator }, { readWorkspace, rememberServerSource, withServer }] = await Promise.all([
      import('../../generators/server/index.js'),
      import('../../generators/sync/index.js'),
      import('../../workspace/index.js'),
    ])
    // The spec's schema (zod) loads only with --spec.
    const spec = flags.spec ? await (await import('../../spec/load.js')).loadToolSpec(flags.spec) : undefined
    const workspace = await readWorkspace(tree)
    const server = await serverGenerator(tree, {
      name: args.name,
      spec,
      preset: flags.preset,
      transport: flags.transport as 'stdio' | 'sse' | 'http' | undefined,
      port: flags.port,
      tools: flags.tool,
      auth: flags.auth,
      force: flags.force,
    }, workspace)
    if (flags.sync) await syncGenerator(tree, withServer(workspace, server.files))
    const applied = applyTree(tree, { dryRun: flags['dry-run'], print: (line) => this.note(line) })
    if (!flags['dry-run']) {
      // A preset's source is a copied file; a generated one has the transport this run chose, written literally.
      if (!flags.preset) rememberServerSource(root, tree.read(`${server.dir}/src/index.ts`)!, server.files.transport)
      this.note(`\nNext: ${flags.sync ? '' : 'airmcp gateway sync && '}npm install && npm run build   (builds ${server.dir} and the gateway that registers it; airmcp dev does both on its own)`)
    }
    return {
      ...applied,
      server: server.name,
      transport: server.transport.type,
      port: 'port' in server.transport ? server.transport.port : undefined,
      tools: server.tools,
      synced: flags.sync,
    }
  }
}
