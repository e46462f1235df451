import { BaseCommand } from '../lib/base-command.js'
import { findWorkspaceRoot } from '../lib/workspace.js'
import { Tree } from '../tree/tree.js'

export interface ServerRow {
  name: string
  transport: string
  port?: number
  registered: boolean
}

export default class List extends BaseCommand {
  static override summary = "List the workspace's servers: transport, port, and whether the gateway registers them."
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> list --json']

  async run(): Promise<{ servers: ServerRow[] }> {
    await this.parse(List)
    const tree = new Tree(findWorkspaceRoot())
    const morph = await import('ts-morph')
    const { readWorkspaceServers } = await import('../generators/sync/read-server.js')
    const { syncGenerator } = await import('../generators/sync/index.js')
    // A dry sync on a scratch tree tells which servers still need a registration.
    const pending = new Set((await syncGenerator(new Tree(tree.root))).added.map((id) => id.replace(/-\d+$/, '')))
    const servers = readWorkspaceServers(morph, tree).map(({ name, transport }) => ({
      name,
      transport: transport.type,
      port: 'port' in transport ? transport.port : undefined,
      registered: !pending.has(name),
    }))
    if (!servers.length) this.note('No servers yet. Add one: airmcp add server search')
    for (const s of servers) {
      this.note(`${s.name.padEnd(20)} ${s.transport.padEnd(6)} ${String(s.port ?? '-').padEnd(6)} ${s.registered ? 'registered' : 'not registered (run airmcp gateway sync)'}`)
    }
    return { servers }
  }
}
