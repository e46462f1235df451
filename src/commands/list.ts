import { BaseCommand } from '../cli/base-command.js'
import { findWorkspaceRoot } from '../workspace/root.js'

export interface ServerRow {
  name: string
  transport: string
  port?: number
  registered: boolean
  /** registered, outdated (port or transport changed since), unregistered, or unknown (no readable gateway file). */
  status: string
}

const STATUS_TEXT: Record<string, string> = {
  registered: 'registered',
  outdated: 'outdated (run airmcp gateway sync)',
  unregistered: 'not registered (run airmcp gateway sync)',
  unknown: 'unknown (gateway/src/index.ts unreadable)',
}

export default class List extends BaseCommand {
  static override summary = "List the workspace's servers: transport, port, and whether the gateway registers them."
  static override description = 'The table goes to stdout, so `airmcp list | grep docs` works; --json gives the same rows.'
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> list --json']

  async run(): Promise<{ servers: ServerRow[] }> {
    await this.parse(List)
    const { readWorkspace } = await import('../workspace/index.js')
    const workspace = await readWorkspace(findWorkspaceRoot())
    const servers = workspace.servers.map(({ name, transport, port, registration }) => ({
      name,
      transport: transport.type,
      port,
      registered: registration.status === 'registered',
      status: registration.status,
    }))
    if (!servers.length) this.note('No servers yet. Add one: airmcp add server search')
    if (workspace.gatewayProblem) this.note(`Note: ${workspace.gatewayProblem.message}`)
    for (const s of servers) {
      this.log(`${s.name.padEnd(20)} ${s.transport.padEnd(6)} ${String(s.port ?? '-').padEnd(6)} ${STATUS_TEXT[s.status]}`)
    }
    return { servers }
  }
}
