import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { type HeldAuthorization, storeFlags } from '../../cli/upstream-tokens.js'
import { AirmcpError } from '../../errors.js'

export default class AuthRevoke extends BaseCommand {
  static override summary = "Remove a principal's upstream tokens from the gateway's token store (all, or one upstream's)."
  static override description =
    'The principal authorizes again (a consent URL) on their next call to that upstream. It reads the store ' +
    'as `airmcp auth list` does. The tokens are forgotten by the gateway, not revoked at the authorization ' +
    'server. Redis (replicas): a running replica may use an access token it already read until it expires, ' +
    'and never refreshes a removed one. File store: stop the gateway first; it holds the file in memory ' +
    'and would write the tokens back.'
  static override examples = [
    '<%= config.bin %> auth revoke alice',
    '<%= config.bin %> auth revoke alice --upstream https://mcp.linear.app/mcp',
    '<%= config.bin %> auth revoke alice --dry-run --json',
    '<%= config.bin %> auth revoke alice --store redis://redis.internal:6379',
  ]
  static override args = { principal: Args.string({ description: 'The principal (its subject, the token\'s sub), as `airmcp auth list` shows it.', required: true }) }
  static override flags = {
    ...storeFlags,
    upstream: Flags.string({ description: "Only this upstream's tokens (its URL, as `airmcp auth list` shows it)." }),
    issuer: Flags.string({ description: 'Only the principal of this issuer (when two issuers have the same subject).' }),
    'dry-run': Flags.boolean({ description: 'Show what would be removed; remove nothing.' }),
  }

  async run(): Promise<{ store: string; removed: HeldAuthorization[]; dryRun: boolean }> {
    const { args, flags } = await this.parse(AuthRevoke)
    const { openStore, heldTable } = await import('../../cli/upstream-tokens.js')
    const opened = await openStore(flags.store)
    try {
      const matching = opened.held.filter(
        ({ shown }) =>
          shown.principal === args.principal && (flags.upstream === undefined || shown.upstream === flags.upstream) && (flags.issuer === undefined || shown.issuer === flags.issuer),
      )
      if (!matching.length) {
        const which = [`"${args.principal}"`, flags.upstream && `at ${flags.upstream}`, flags.issuer && `of ${flags.issuer}`].filter(Boolean).join(' ')
        throw new AirmcpError('NOT_HELD', `${opened.where} holds nothing for ${which}; nothing was removed.`, '`airmcp auth list` shows the principals and upstreams it holds.')
      }
      const removed = matching.map((entry) => entry.shown)
      if (!this.jsonEnabled()) for (const line of heldTable(removed)) this.log(line)
      if (!flags['dry-run']) for (const { key } of matching) await opened.store.delete(key)
      this.note(`${flags['dry-run'] ? 'Would remove' : 'Removed'} ${removed.length} authorization(s) of "${args.principal}" from ${opened.where}.`)
      if (!flags['dry-run'] && opened.kind === 'file') this.note('A gateway running on this file still holds them in memory and writes them back on its next change: revoke while it is stopped.')
      return { store: opened.where, removed, dryRun: flags['dry-run'] }
    } finally {
      await opened.store.close?.()
    }
  }
}
