import { Flags } from '@oclif/core'
import { applyTree, type ApplyResult } from '../../tree/apply.js'
import { BaseCommand } from '../../cli/base-command.js'
import { findWorkspaceRoot } from '../../workspace/root.js'
import { Tree } from '../../tree/tree.js'
import type { SyncResult } from '../../generators/sync/index.js'

export default class GatewaySync extends BaseCommand {
  static override summary = 'Keep the gateway.register(...) calls in gateway/src/index.ts in step with servers/.'
  static override description =
    'Adds a registration for each server without one, updates the ones it manages when a port or transport ' +
    'changed, and removes the ones whose server is gone. It manages only provably local registrations; ' +
    'everything else in the file (your code, comments, remote replicas) stays byte for byte.'
  static override examples = [
    '<%= config.bin %> gateway sync',
    '<%= config.bin %> gateway sync --dry-run',
    '<%= config.bin %> gateway sync --check   # in CI: exit 1 when out of sync',
  ]
  static override flags = {
    'dry-run': Flags.boolean({ description: 'Print the diff; write nothing.' }),
    check: Flags.boolean({ description: 'Exit 1 and print the diff when out of sync; write nothing.' }),
  }

  async run(): Promise<SyncResult & ApplyResult> {
    const { flags } = await this.parse(GatewaySync)
    const tree = new Tree(findWorkspaceRoot())
    const { syncGenerator } = await import('../../generators/sync/index.js')
    const result = await syncGenerator(tree)
    for (const server of result.servers) this.note(`${server.status.padEnd(8)} ${server.name}${server.ids.length ? ` (${server.ids.join(', ')})` : ''}`)
    for (const skipped of result.skipped) this.note(`skipped ${skipped.id}: ${skipped.reason}`)
    const applied = applyTree(tree, { dryRun: flags['dry-run'] || flags.check, print: (line) => this.note(line) })
    if (!result.changed) this.note('Gateway already in sync.')
    else if (!flags['dry-run'] && !flags.check) {
      const parts = [['added', result.added], ['updated', result.updated], ['removed', result.removed]] as const
      this.note(parts.filter(([, ids]) => ids.length).map(([what, ids]) => `${what} ${ids.join(', ')}`).join('; '))
    }
    if (flags.check && result.changed) {
      if (this.jsonEnabled()) this.logJson({ ...result, ...applied })
      this.exit(1)
    }
    return { ...result, ...applied }
  }
}
