import { Gateway } from '../dist/gateway/index.js'
import { startListening, TSX_NODE_ARGS, killAll } from './helpers/processes.ts'
const r = await startListening([...TSX_NODE_ARGS, process.argv[2] ?? 'fixtures/servers/conformance.ts'], { env: { AIRMCP_PORT: '0' } })
const g = new Gateway({ name: 'g', port: Number(process.argv[3] ?? 0), handleSignals: false })
g.register({ id: 'c', name: 'c', connection: { type: 'http', url: r.url } })
await g.start()
console.error('DIRECT', r.url, 'GATEWAY', g.url, JSON.stringify(g.list()[0].protocolVersion))
process.on('SIGTERM', async () => { await g.stop(); await killAll(); process.exit(0) })
