import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { AirmcpError } from '../errors.js'

export default class Bridge extends BaseCommand {
  static override summary = 'Proxy stdio to a Streamable HTTP MCP endpoint (for clients that only launch commands).'
  static override description =
    'Claude Desktop launches MCP servers as commands; `airmcp connect claude-desktop --url https://…/mcp` writes ' +
    'this command so the app reaches a gateway (or any MCP server) over HTTP. stdout carries only JSON-RPC.\n\n' +
    'A protected server (HTTP 401) is logged in to with OAuth 2.1: the bridge opens the browser at the ' +
    "server's authorization server (the URL is printed on stderr too), receives the answer on " +
    'http://127.0.0.1:<port>/callback, and keeps the tokens in ~/.config/airmcp/bridge/ (AIRMCP_CONFIG_DIR ' +
    'or XDG_CONFIG_HOME moves it), readable by you alone. They are refreshed before they expire; ' +
    '`--logout` forgets them. The client is registered by a Client ID Metadata Document (--client-metadata-url), ' +
    'a client registered beforehand (--client-id, its secret in AIRMCP_BRIDGE_CLIENT_SECRET), or dynamic ' +
    'registration. A static token in AIRMCP_TOKEN is sent until an OAuth token is held.'
  static override examples = [
    '<%= config.bin %> bridge http://127.0.0.1:4000/mcp',
    '<%= config.bin %> bridge https://gateway.example.com/mcp --client-id airmcp-desktop',
    '<%= config.bin %> bridge https://gateway.example.com/mcp --logout',
    '<%= config.bin %> bridge --logout --json',
  ]
  static override args = {
    url: Args.string({ description: 'The gateway URL, e.g. http://127.0.0.1:4000/mcp (with --logout: optional, default every server).' }),
  }
  static override flags = {
    logout: Flags.boolean({ description: 'Forget the tokens held for this server (or for every server), then exit.' }),
    'client-id': Flags.string({ description: 'A client id registered with the authorization server (its secret, if any, in AIRMCP_BRIDGE_CLIENT_SECRET).', env: 'AIRMCP_BRIDGE_CLIENT_ID' }),
    'client-metadata-url': Flags.string({ description: "An https URL where this client's metadata document is published (used as client_id when the server supports it)." }),
    'open-command': Flags.string({ description: 'The program that opens the login URL, given the URL as its argument (default: BROWSER, else the system opener).', env: 'BROWSER' }),
    'callback-port': Flags.integer({ min: 0, max: 65535, default: 0, description: 'The loopback port of the login redirect (default: one the system picks).' }),
  }

  async run(): Promise<{ forgotten: string[] } | undefined> {
    const { args, flags } = await this.parse(Bridge)
    if (args.url !== undefined) checkUrl(args.url)
    if (flags.logout) {
      const { forgetCredentials } = await import('../bridge/token-store.js')
      const forgotten = forgetCredentials(args.url)
      this.note(forgotten.length ? `Forgot the tokens for ${forgotten.join(', ')}.` : 'No tokens were held.')
      return { forgotten }
    }
    // stdout carries only JSON-RPC while bridging.
    if (this.jsonEnabled()) throw new AirmcpError('JSON_WITH_BRIDGE', '--json applies to --logout only: while bridging, stdout is the MCP channel.', 'airmcp bridge --logout --json')
    if (args.url === undefined) throw new AirmcpError('MISSING_URL', 'The server URL is missing.', 'airmcp bridge http://127.0.0.1:4000/mcp')
    if (flags['client-metadata-url'] !== undefined && !/^https:\/\/[^/]+\/./.test(flags['client-metadata-url'])) {
      throw new AirmcpError('BAD_CLIENT_METADATA_URL', `--client-metadata-url "${flags['client-metadata-url']}" must be an https URL with a path.`, '--client-metadata-url https://example.com/airmcp-bridge.json')
    }
    const url = args.url
    const [{ runBridge }, { prepareOAuth, OAuthLoginTransport }, { credentialsFile }, { StreamableHTTPClientTransport }] = await Promise.all([
      import('../bridge/bridge.js'),
      import('../bridge/oauth.js'),
      import('../bridge/token-store.js'),
      import('@modelcontextprotocol/client'),
    ])
    const { provider, loopback } = await prepareOAuth({
      serverUrl: url,
      file: credentialsFile(url),
      clientId: flags['client-id'],
      clientSecret: process.env.AIRMCP_BRIDGE_CLIENT_SECRET,
      clientMetadataUrl: flags['client-metadata-url'],
      openCommand: flags['open-command'],
      callbackPort: flags['callback-port'],
    }).catch((error: Error) => {
      throw new AirmcpError('CALLBACK_PORT', `The login redirect could not listen on 127.0.0.1:${flags['callback-port']}: ${error.message}`, 'airmcp bridge <url> --callback-port 0')
    })
    await runBridge(url, {
      headers: process.env.AIRMCP_TOKEN ? { authorization: `Bearer ${process.env.AIRMCP_TOKEN}` } : undefined,
      transport: (init) =>
        new OAuthLoginTransport(
          new StreamableHTTPClientTransport(new URL(url), { ...init, fetch: provider.rediscoverOn401(init.fetch ?? fetch), authProvider: provider }),
          provider,
          new URL(url),
          loopback,
        ),
    })
    process.exit(0)
  }
}

function checkUrl(url: string): void {
  try {
    new URL(url)
  } catch {
    throw new AirmcpError('BAD_URL', `"${url}" is not a URL.`, 'airmcp bridge http://127.0.0.1:4000/mcp')
  }
}
