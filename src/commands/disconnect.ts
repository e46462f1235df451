import { rmSync } from 'node:fs'
import { Args, Flags } from '@oclif/core'
import { CLIENT_IDS, findClient, pathContext } from '../clients/index.js'
import { editConfig, isEmptyConfig, readState } from '../clients/plan.js'
import type { Scope } from '../clients/types.js'
import { BaseCommand } from '../cli/base-command.js'
import { backupFile, readIfExists, writeAtomic } from '../clients/config-file.js'
import { checkScope, defaultName } from '../clients/entry.js'
import { unifiedDiff } from '../tree/diff.js'

export default class Disconnect extends BaseCommand {
  static override summary = 'Remove our entry from an MCP client\'s config, and nothing else.'
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
    const path = flags.config ?? target.configPath(checkScope(target, flags.scope as Scope | undefined), pathContext())
    const before = readIfExists(path)
    if (readState(target, before, path, name).state === 'absent') {
      this.note(`${target.label} has no "${name}" entry in ${path}; nothing to do.`)
      return { client: target.id, path, name, action: 'absent' }
    }
    const after = editConfig(target, before, name, undefined)
    if (flags['dry-run']) {
      this.note(unifiedDiff(path, before, after))
      return { client: target.id, path, name, action: 'dry-run' }
    }
    const backup = backupFile(path)
    // A config left holding nothing was made by connect: remove it (the backup keeps it).
    if (isEmptyConfig(after)) rmSync(path)
    else writeAtomic(path, after)
    this.note(`Removed "${name}" from ${path}.${backup ? ` Backup: ${backup}` : ''}`)
    if (target.note) this.note(target.note)
    return { client: target.id, path, name, action: 'removed', backup }
  }
}
