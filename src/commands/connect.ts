import { Args, Flags } from '@oclif/core'
import { CLIENT_IDS, CLIENTS, findClient, pathContext } from '../clients/index.js'
import { editConfig, readState } from '../clients/plan.js'
import type { Scope } from '../clients/types.js'
import { BaseCommand } from '../cli/base-command.js'
import { backupFile, readIfExists, writeAtomic } from '../clients/config-file.js'
import { checkScope, defaultName, gatewayEntry } from '../clients/entry.js'
import { AirmcpError } from '../errors.js'
import { unifiedDiff } from '../tree/diff.js'

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
    'A timestamped backup is written first; running it again changes nothing. Clients: ' + CLIENT_IDS.join(', ') + '.'
  static override examples = [
    '<%= config.bin %> connect claude-desktop --transport http --port 4000',
    '<%= config.bin %> connect claude-code --scope project',
    '<%= config.bin %> connect vscode --dry-run',
    '<%= config.bin %> connect --list',
  ]
  static override args = { client: Args.string({ description: 'The client', options: CLIENT_IDS }) }
  static override flags = {
    transport: Flags.string({ options: ['http', 'stdio'], default: 'http', description: 'Reach the running gateway over HTTP, or launch it over stdio.' }),
    port: Flags.integer({ default: 4000, min: 1, max: 65535, description: "The gateway's port." }),
    host: Flags.string({ default: '127.0.0.1', description: "The gateway's host." }),
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
    if (flags.list) {
      const clients = CLIENTS.flatMap((target) =>
        target.scopes.map((scope) => {
          const path = target.configPath(scope, context)
          const text = readIfExists(path)
          let state = 'no config'
          try {
            if (text !== undefined) state = readState(target, text, path, name).state === 'absent' ? 'not connected' : 'connected'
          } catch {
            state = 'invalid config'
          }
          this.note(`${target.id.padEnd(15)} ${scope.padEnd(8)} ${state.padEnd(14)} ${path}`)
          return { client: target.id, scope, path, state }
        }),
      )
      return { clients }
    }
    const target = args.client ? findClient(args.client) : undefined
    if (!target) throw new AirmcpError('MISSING_CLIENT', 'No client given.', `name one: airmcp connect ${CLIENT_IDS.join('|')}`)
    const scope = checkScope(target, flags.scope as Scope | undefined)
    const path = flags.config ?? target.configPath(scope, context)
    const entry = target.toEntry(gatewayEntry(target, { transport: flags.transport as 'http' | 'stdio', host: flags.host, port: flags.port }))
    if (flags.print) {
      this.log(JSON.stringify({ [name]: entry }, null, 2))
      return { client: target.id, path, name, entry, action: 'printed' }
    }
    const before = readIfExists(path)
    const { state, current } = readState(target, before, path, name, entry)
    if (state === 'connected') {
      this.note(`${target.label} is already connected as "${name}" in ${path}.`)
      return { client: target.id, path, name, entry, action: 'unchanged' }
    }
    if (state === 'different' && !flags.force) {
      throw new AirmcpError(
        'ENTRY_EXISTS',
        `"${path}" already has a different "${name}" entry: ${JSON.stringify(current)}.`,
        'use --force to replace it, or --name to add ours under another name.',
      )
    }
    const after = editConfig(target, before, name, entry)
    if (flags['dry-run']) {
      this.note(unifiedDiff(path, before, after))
      return { client: target.id, path, name, entry, action: 'dry-run' }
    }
    const backup = backupFile(path)
    writeAtomic(path, after)
    this.note(`${before === undefined ? 'Created' : 'Updated'} ${path}: "${name}" → ${JSON.stringify(entry)}`)
    if (backup) this.note(`Backup: ${backup}`)
    if (target.note) this.note(target.note)
    return { client: target.id, path, name, entry, action: before === undefined ? 'created' : 'updated', backup }
  }
}
