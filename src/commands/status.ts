import { BaseCommand, gatewayFlags } from '../cli/base-command.js'
import type { GatewayStatus, StatusRow } from '../fleet/status.js'

export default class Status extends BaseCommand {
  static override summary = "Ask the running gateway for its servers: status, transport, last error, calls, errors, median latency."
  static override description =
    'Reads the gateway\'s /health. It finds the gateway that airmcp start or airmcp dev runs for this workspace ' +
    '(also on --port-offset or --free-ports), else the port in gateway/src/index.ts; --url points elsewhere. ' +
    'Figures count since the gateway started. LAST ERROR is why a connection is down, else the last failed call ' +
    '(its time and message); --json gives it as lastError { message, at } and connectionError.'
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --url http://127.0.0.1:4100 --token "$AIRMCP_GATEWAY_TOKEN"',
  ]
  static override flags = {
    ...gatewayFlags,
  }

  async run(): Promise<Omit<GatewayStatus, 'servers'> & { servers: StatusRow[] }> {
    const { flags } = await this.parse(Status)
    const { fetchHealth, statusRow, statusTable, workspaceGateway } = await import('../fleet/status.js')
    const status = await fetchHealth(flags.url ?? (await workspaceGateway()), flags.token)
    if (!this.jsonEnabled()) for (const line of statusTable(status)) this.log(line)
    return { ...status, servers: status.servers.map(statusRow) }
  }
}
