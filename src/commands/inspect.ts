import { Flags } from '@oclif/core'
import { BaseCommand, gatewayFlags } from '../cli/base-command.js'
import { AirmcpError } from '../errors.js'

export interface InspectResult {
  inspector: string
  endpoint: string
  command: string
  steps: string[]
  /** What the newest Inspector needs, when an older one was chosen for this Node. */
  newestNeeds?: string
}

export default class Inspect extends BaseCommand {
  static override summary = 'Open the official MCP Inspector on the running gateway.'
  static override description =
    'Runs npx @modelcontextprotocol/inspector pointed at the gateway that airmcp dev or airmcp start runs for this ' +
    'workspace (--url elsewhere), with its token where the Inspector takes one. It picks the newest Inspector that ' +
    'runs on this Node (2.x needs Node 22.19, 1.x Node 22.7.5; on Node 20 it runs 0.15.0) and says what the newest needs.'
  static override examples = [
    '<%= config.bin %> inspect',
    '<%= config.bin %> inspect --dry-run',
    '<%= config.bin %> inspect --url http://127.0.0.1:4100 --token "$AIRMCP_GATEWAY_TOKEN"',
  ]
  static override flags = {
    ...gatewayFlags,
    'dry-run': Flags.boolean({ description: 'Print the command; run nothing.' }),
  }

  async run(): Promise<InspectResult> {
    const { flags } = await this.parse(Inspect)
    const { chooseInspector, inspectorCommand } = await import('../cli/inspector.js')
    const { mcpEndpoint } = await import('../cli/tool-call.js')
    const { fetchHealth, workspaceGateway } = await import('../fleet/status.js')
    const { release, newest } = chooseInspector(process.versions.node)
    const endpoint = mcpEndpoint(flags.url ?? (await workspaceGateway()))
    const command = inspectorCommand(release, endpoint.href, flags.token || undefined)
    const result: InspectResult = { inspector: release.version, endpoint: endpoint.href, command: command.display, steps: command.steps }
    if (newest) result.newestNeeds = `Inspector ${newest.version} needs Node ${newest.node} or newer`
    if (newest) this.note(`Node ${process.versions.node}: the MCP Inspector ${release.version} (its latest, ${newest.version}, needs Node ${newest.node}).`)
    if (flags['dry-run']) {
      if (!this.jsonEnabled()) this.log(command.display)
      for (const step of command.steps) this.note(`In the Inspector: ${step}`)
      return result
    }
    await fetchHealth(endpoint.origin, flags.token) // the gateway runs (and takes this token) before a browser opens
    this.note(`$ ${command.display}`)
    for (const step of command.steps) this.note(`In the Inspector: ${step}`)
    const { spawn } = await import('node:child_process')
    const child = spawn(command.command, command.args, { stdio: 'inherit' })
    // Ctrl-C reaches the Inspector too (same process group): wait for it to stop rather than leave it behind.
    process.on('SIGINT', () => {})
    process.exitCode = await new Promise<number>((resolve, reject) => {
      child.once('exit', (exitCode) => resolve(exitCode ?? 0))
      child.once('error', (error) =>
        reject(new AirmcpError('NPX_NOT_FOUND', `npx could not be started (${error.message}).`, 'install npm (it comes with Node), or run the command above yourself.')),
      )
    })
    return result
  }
}
