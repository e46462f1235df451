import { Args, Flags } from '@oclif/core'
import { BaseCommand, gatewayFlags } from '../cli/base-command.js'
import type { ToolCallResult } from '../cli/tool-call.js'

export default class Call extends BaseCommand {
  static override summary = 'Call one tool through the running gateway and print its result (for scripts and CI).'
  static override description =
    'Finds the gateway that airmcp dev or airmcp start runs for this workspace (else the port in ' +
    'gateway/src/index.ts); --url points elsewhere. Arguments come from --args (a JSON object) and key=value ' +
    "pairs, read as the tool's input schema types them (limit=5 is a number when the tool wants one). Prints " +
    "the result's text on stdout; a result with isError goes to stderr and exits 1. --json prints the whole result."
  static override examples = [
    '<%= config.bin %> call search query=hello limit=5',
    `<%= config.bin %> call search --args '{"query":"hello","limit":5}'`,
    '<%= config.bin %> call read_file path=README.md --json',
    '<%= config.bin %> call search query=hello --url http://127.0.0.1:4100 --token "$AIRMCP_GATEWAY_TOKEN"',
  ]
  // key=value pairs follow the tool's name.
  static override strict = false
  static override args = {
    tool: Args.string({ description: 'The tool, as the gateway lists it', required: true }),
    arguments: Args.string({ description: 'key=value pairs, any number of them' }),
  }
  static override flags = {
    args: Flags.string({ description: 'The arguments as one JSON object (key=value pairs are applied over it).' }),
    ...gatewayFlags,
  }

  async run(): Promise<ToolCallResult> {
    const { args, argv, flags } = await this.parse(Call)
    const pairs = (argv as string[]).slice(1)
    const { mcpEndpoint, resultText, toolArguments } = await import('../cli/tool-call.js')
    const { workspaceGateway } = await import('../fleet/status.js')
    toolArguments(flags.args, pairs) // bad input is refused before anything is sent
    const endpoint = mcpEndpoint(flags.url ?? (await workspaceGateway()))
    const { callTool } = await import('../cli/gateway-client.js')
    const result = await callTool(endpoint, flags.token, args.tool, (schema) => toolArguments(flags.args, pairs, schema), pairs.length > 0)
    // Exit code 1 without throwing, so --json still prints the result (oclif prints what run() returns).
    if (result.isError) process.exitCode = 1
    if (this.jsonEnabled()) return result
    if (result.isError) this.logToStderr(resultText(result))
    else this.log(resultText(result))
    return result
  }
}
