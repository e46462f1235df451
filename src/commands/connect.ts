import { resolve } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { CLIENT_IDS, CLIENTS, findClient, pathContext } from '../clients/index.js'
import { checkScope, defaultName, gatewayEntry, remoteEntry } from '../clients/entry.js'
import { planConnect, readState } from '../clients/plan.js'
import type { ClientTarget, Scope } from '../clients/types.js'
import { AirmcpError } from '../errors.js'
import { applyTree } from '../tree/apply.js'
import { defaultBackupDir } from '../tree/flush.js'
import { Tree } from '../tree/tree.js'
import { tryWorkspaceRoot } from '../workspace/root.js'

export interface ConnectResult {
  client?: string
  path?: string
  name?: string
  entry?: Record<string, unknown>
  action?: 'created' | 'updated' | 'unchanged' | 'dry-run' | 'printed'
  backup?: string
  clients?: { client: string; scope: string; path: string; state: string }[]
}

export default class Connect extends BaseCommand {
  static override summary = "Point an MCP client (Claude Desktop, Claude Code, Cursor, VS Code, …) at the gateway."
  static override description =
    'Edits only our entry in the client\'s config: comments, other servers and formatting stay as they were. ' +
    'The file is backed up first under ~/.airmcp/backups/ (never beside it, so project folders stay clean); ' +
    'running it again changes nothing. Inside a workspace the port defaults to its gateway\'s. With --url, the entry ' +
    'points at a remote server instead, which the client logs in to itself (OAuth). Clients: ' +
    CLIENT_IDS.join(', ') + '.'
  static override examples = [
    '<%= config.bin %> connect claude-desktop --transport http --port 4000',
    '<%= config.bin %> connect claude-code --scope project',
    '<%= config.bin %> connect vscode --dry-run',
    '<%= config.bin %> connect claude-code --url https://mcp.example.com/mcp --name platform',
    '<%= config.bin %> connect --list',
  ]
  static override args = { client: Args.string({ description: 'The client', options: CLIENT_IDS }) }
  static override flags = {
    transport: Flags.string({ options: ['http', 'stdio'], default: 'http', description: 'Reach the running gateway over HTTP, or launch it over stdio.' }),
    port: Flags.integer({ min: 1, max: 65535, description: "The gateway's port (default: the workspace gateway's, else 4000)." }),
    host: Flags.string({ default: '127.0.0.1', description: "The gateway's host." }),
    url: Flags.string({
      description: 'A remote server (https) the client reaches and logs in to itself (OAuth), instead of the local gateway.',
      exclusive: ['port', 'host'],
    }),
    name: Flags.string({ description: 'The entry name (default: the workspace name).' }),
    scope: Flags.string({ options: ['user', 'project'], description: 'Which config file, for clients that have both.' }),
    config: Flags.string({ description: 'The config file to edit (default: the client\'s own path for this OS).' }),
    'dry-run': Flags.boolean({ description: 'Print the diff; write nothing.' }),
    print: Flags.boolean({ description: 'Print the entry only; write nothing.' }),
    force: Flags.boolean({ description: 'Replace a different entry under the same name.' }),
    list: Flags.boolean({ description: "Show every client's state." }),
  }

  async run(): Promise<ConnectResult> {
    const { args, flags } = await this.parse(Connect)
    const name = flags.name ?? defaultName()
    const context = pathContext()
    const root = tryWorkspaceRoot()
    const tree = new Tree(root ?? process.cwd())
    if (flags.list) {
      const clients = CLIENTS.flatMap((target) =>
        target.scopes.map((scope) => {
          const path = target.configPath(scope, context)
          const text = tree.read(path)
          let state = 'no config'
          try {
            if (text !== undefined) state = readState(target, text, path, name).state === 'absent' ? 'not connected' : 'connected'
          } catch {
            state = 'invalid config'
          }
          this.log(`${target.id.padEnd(15)} ${scope.padEnd(8)} ${state.padEnd(14)} ${path}`)
          return { client: target.id, scope, path, state }
        }),
      )
      return { clients }
    }
    const target = args.client ? findClient(args.client) : undefined
    if (!target) throw new AirmcpError('MISSING_CLIENT', 'No client given.', `name one: airmcp connect ${CLIENT_IDS.join('|')}`)
    const scope = checkScope(target, flags.scope as Scope | undefined)
    const path = flags.config ? resolve(flags.config) : target.configPath(scope, context)
    const entry = target.toEntry(await this.entryFor(target, flags, root))
    if (flags.print) {
      this.log(JSON.stringify({ [name]: entry }, null, 2))
      return { client: target.id, path, name, entry, action: 'printed' }
    }
    const { action } = planConnect(tree, target, { path, name, entry, force: flags.force })
    if (action === 'unchanged') {
      this.note(`${target.label} is already connected as "${name}" in ${path}.`)
      return { client: target.id, path, name, entry, action }
    }
    const applied = applyTree(tree, { dryRun: flags['dry-run'], print: (line) => this.note(line), backupDir: defaultBackupDir(context.home) })
    if (applied.dryRun) return { client: target.id, path, name, entry, action: 'dry-run' }
    this.note(`${action === 'created' ? 'Created' : 'Updated'} ${path}: "${name}" → ${JSON.stringify(entry)}`)
    if (target.note) this.note(target.note)
    if (flags.url) this.note(target.login?.(name) ?? `${target.label} logs in to the server (OAuth) when it first connects.`)
    return { client: target.id, path, name, entry, action, backup: applied.backups?.[0]?.backup }
  }

  /** A remote server's entry (`--url`), else the local gateway's. */
  private async entryFor(target: ClientTarget, flags: { url?: string; transport: string; host: string; port?: number }, root: string | undefined) {
    if (flags.url !== undefined) {
      if (flags.transport === 'stdio') throw new AirmcpError('INVALID_FLAGS', '--url and --transport stdio do not go together.', 'drop --transport stdio: a remote server is reached over HTTP.')
      return remoteEntry(target, flags.url)
    }
    const port = flags.port ?? (await this.workspaceGatewayPort(root))
    return gatewayEntry(target, { transport: flags.transport as 'http' | 'stdio', host: flags.host, port })
  }

  /** The port of the workspace's gateway (its `new Gateway({ port })`), else 4000. */
  private async workspaceGatewayPort(root: string | undefined): Promise<number> {
    if (!root) return 4000
    const { readWorkspace, DEFAULT_GATEWAY_PORT } = await import('../workspace/index.js')
    return (await readWorkspace(root)).gateway?.port ?? DEFAULT_GATEWAY_PORT
  }
}
