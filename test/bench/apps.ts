// `npm run bench apps`: an MCP App's ui:// resource (a 1 MiB page) read directly from an airmcp server
// and through a gateway process in front of it (speaking either era to the server), in turns, median of
// each; the gateway should stay within 1.3×. Beside them, the do-nothing relay: the floor of any HTTP hop.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { auth, startGateway } from '../hostile/harness.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { fmt, interleavedMedians } from './measure.js'

const BYTES = 1024 * 1024
const URI = 'ui://bundle/app.html'
// Two registrations of the one server share its URI, so the gateway exposes each under its pool's name.
const THROUGH = { apps: 'ui://airmcp~apps/bundle/app.html', apps25: 'ui://airmcp~apps25/bundle/app.html' }

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'bench-apps', version: '1' }, { versionNegotiation: { mode: 'legacy' } })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  return client
}

async function read({ client, uri }: { client: Client; uri: string }): Promise<void> {
  const text = (await client.readResource({ uri })).contents[0]?.text as string | undefined
  if (text?.length !== BYTES) throw new Error(`read ${text?.length} bytes, expected ${BYTES}`)
}

export async function appsSection(out: (line?: string) => void): Promise<void> {
  const clients: { client: Client; uri: string }[] = []
  try {
    const server = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/app-runtime.ts'], {
      env: { TRANSPORT: 'http', AIRMCP_PORT: '0', APP_BYTES: String(BYTES) },
    })
    const gateway = await startGateway({}, [
      { id: 'apps-1', name: 'apps', connection: { type: 'http', url: server.url } },
      { id: 'apps25-1', name: 'apps25', protocol: '2025-11-25', connection: { type: 'http', url: server.url } },
    ])
    const relay = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-relay.ts'], { env: { UPSTREAM: server.url } })
    const viaGateway = await connect(gateway.url, auth)
    clients.push(
      { client: await connect(server.url), uri: URI },
      { client: viaGateway, uri: THROUGH.apps },
      { client: viaGateway, uri: THROUGH.apps25 },
      { client: await connect(relay.url), uri: URI },
    )
    const [direct, through, through25, relayed] = await interleavedMedians(clients, 200, 20, read)
    out('## MCP Apps: a 1 MiB ui:// resource')
    out()
    out('| Path | resources/read median (ms) | × direct |')
    out('|---|---|---|')
    out(`| direct (Streamable HTTP, 2025-11-25) | ${fmt(direct!)} | 1.00 |`)
    out(`| through the gateway (2026-07-28 to the server) | ${fmt(through!)} | ${fmt(through! / direct!)} |`)
    out(`| through the gateway (2025-11-25 to the server) | ${fmt(through25!)} | ${fmt(through25! / direct!)} |`)
    out(`| through the do-nothing relay (bytes passed on as they arrive: the floor of any HTTP hop here) | ${fmt(relayed!)} | ${fmt(relayed! / direct!)} |`)
    out()
  } finally {
    await Promise.allSettled(clients.map(({ client }) => client.close()))
    await killAll()
  }
}
