// `npm run bench apps`: an MCP App's ui:// resource (a 1 MiB page) read directly from an airmcp server
// and through a gateway process in front of it, in turns, median of each; the gateway should stay within 1.3×.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { auth, startGateway } from '../hostile/harness.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { fmt, interleavedMedians } from './measure.js'

const BYTES = 1024 * 1024
const URI = 'ui://bundle/app.html'

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'bench-apps', version: '1' }, { versionNegotiation: { mode: 'legacy' } })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  return client
}

async function read(client: Client): Promise<void> {
  const text = (await client.readResource({ uri: URI })).contents[0]?.text as string | undefined
  if (text?.length !== BYTES) throw new Error(`read ${text?.length} bytes, expected ${BYTES}`)
}

export async function appsSection(out: (line?: string) => void): Promise<void> {
  const clients: Client[] = []
  try {
    const server = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/app-runtime.ts'], {
      env: { TRANSPORT: 'http', AIRMCP_PORT: '0', APP_BYTES: String(BYTES) },
    })
    const gateway = await startGateway({}, [{ id: 'apps-1', name: 'apps', connection: { type: 'http', url: server.url } }])
    clients.push(await connect(server.url), await connect(gateway.url, auth))
    const [direct, through] = await interleavedMedians(clients, 200, 20, read)
    out('## MCP Apps: a 1 MiB ui:// resource')
    out()
    out('| Path | resources/read median (ms) | × direct |')
    out('|---|---|---|')
    out(`| direct (Streamable HTTP, 2025-11-25) | ${fmt(direct!)} | 1.00 |`)
    out(`| through the gateway | ${fmt(through!)} | ${fmt(through! / direct!)} |`)
    out()
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()))
    await killAll()
  }
}
