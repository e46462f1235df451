import { Args } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { type HeldAuthorization, storeFlags } from '../../cli/upstream-tokens.js'

export default class AuthList extends BaseCommand {
  static override summary = "Show what the gateway's token store holds: per principal and upstream, never a token."
  static override description =
    'Reads the store of protected upstreams (connection.auth) the way the gateway is configured: the file ' +
    'upstream-tokens.json in AIRMCP_DATA_DIR (else .airmcp in this directory), or --store redis://… for ' +
    'replicas, with the key in AIRMCP_TOKEN_STORE_KEY. For each principal and upstream: the scopes granted, ' +
    'when the access token expires and whether a refresh token is held. Token values are never shown.'
  static override examples = [
    '<%= config.bin %> auth list',
    '<%= config.bin %> auth list alice --json',
    '<%= config.bin %> auth list --store redis://redis.internal:6379',
  ]
  static override args = { principal: Args.string({ description: "Only this principal's (its subject, the token's sub)." }) }
  static override flags = { ...storeFlags }

  async run(): Promise<{ store: string; held: HeldAuthorization[] }> {
    const { args, flags } = await this.parse(AuthList)
    const { openStore, heldTable } = await import('../../cli/upstream-tokens.js')
    const opened = await openStore(flags.store)
    await opened.store.close?.()
    const held = opened.held.map((entry) => entry.shown).filter((shown) => args.principal === undefined || shown.principal === args.principal)
    if (!this.jsonEnabled()) {
      if (held.length) for (const line of heldTable(held)) this.log(line)
      else this.note(`${opened.where} holds nothing${args.principal === undefined ? '' : ` for "${args.principal}"`}.`)
    }
    return { store: opened.where, held }
  }
}
