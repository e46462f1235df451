import { resolve } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { checkScope, defaultName } from '../clients/entry.js'
import { CLIENT_IDS, findClient, pathContext } from '../clients/index.js'
import { planDisconnect } from '../clients/plan.js'
import type { Scope } from '../clients/types.js'
import { applyTree } from '../tree/apply.js'
import { defaultBackupDir } from '../tree/flush.js'
import { Tree } from '../tree/tree.js'
import { tryWorkspaceRoot } from '../workspace/root.js'

export default class Disconnect extends BaseCommand {
  static override summary = 'Remove our entry from an MCP client\'s config, and nothing else.'
  static override description = 'The file is backed up first under ~/.airmcp/backups/; a config left empty is removed.'
  static override examples = ['<%= config.bin %> disconnect claude-desktop', '<%= config.bin %> disconnect vscode --dry-run']
  static override args = { client: Args.string({ description: 'The client', options: CLIENT_IDS, required: true }) }
  static override flags = {
    name: Flags.string({ description: 'The entry name (default: the workspace name).' }),
    scope: Flags.string({ options: ['user', 'project'], description: 'Which config file, for clients that have both.' }),
    config: Flags.string({ description: 'The config file to edit.' }),
    'dry-run': Flags.boolean({ description: 'Print the diff; write nothing.' }),
  }

  async run(): Promise<{ client: string; path: string; name: string; action: 'removed' | 'absent' | 'dry-run'; backup?: string }> {
    const { args, flags } = await this.parse(Disconnect)
    const target = findClient(args.client)!
    const name = flags.name ?? defaultName()
    const context = pathContext()
    const path = flags.config ? resolve(flags.config) : target.configPath(checkScope(target, flags.scope as Scope | undefined), context)
    const tree = new Tree(tryWorkspaceRoot() ?? process.cwd())
    if (planDisconnect(tree, target, { path, name }).action === 'absent') {
      this.note(`${target.label} has no "${name}" entry in ${path}; nothing to do.`)
      return { client: target.id, path, name, action: 'absent' }
    }
    const applied = applyTree(tree, { dryRun: flags['dry-run'], print: (line) => this.note(line), backupDir: defaultBackupDir(context.home) })
    if (applied.dryRun) return { client: target.id, path, name, action: 'dry-run' }
    this.note(`Removed "${name}" from ${path}.`)
    if (target.note) this.note(target.note)
    return { client: target.id, path, name, action: 'removed', backup: applied.backups?.[0]?.backup }
  }
}
