import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { AirmcpError } from '../errors.js'

export default class Bridge extends BaseCommand {
  // stdout carries only JSON-RPC: no --json.
  static override enableJsonFlag = false
  static override summary = 'Proxy stdio to a Streamable HTTP MCP endpoint (for clients that only launch commands).'
  static override description =
    'Claude Desktop launches MCP servers as commands; `airmcp connect claude-desktop --transport http` writes ' +
    'this command (with absolute paths) so the app reaches the gateway over HTTP. stdout carries only JSON-RPC.'
  static override examples = ['<%= config.bin %> bridge http://127.0.0.1:4000/mcp']
  static override args = { url: Args.string({ description: 'The gateway URL, e.g. http://127.0.0.1:4000/mcp', required: true }) }

  async run(): Promise<void> {
    const { args } = await this.parse(Bridge)
    try {
      new URL(args.url)
    } catch {
      throw new AirmcpError('BAD_URL', `"${args.url}" is not a URL.`, 'airmcp bridge http://127.0.0.1:4000/mcp')
    }
    const { runBridge } = await import('../gateway/bridge.js')
    await runBridge(args.url, { headers: process.env.AIRMCP_TOKEN ? { authorization: `Bearer ${process.env.AIRMCP_TOKEN}` } : undefined })
    process.exit(0)
  }
}
