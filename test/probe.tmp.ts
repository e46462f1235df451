import { startAuthorizationServer } from '../fixtures/auth/authorization-server.js'
import { startGateway } from './hostile/harness.js'
import { startListening, TSX_NODE_ARGS, killAll } from './helpers/processes.js'
const t0 = Date.now()
const as = await startAuthorizationServer(() => 'aud')
const team = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/team.ts'], { env: { TEAM: 'a', TRANSPORT: 'http', AIRMCP_PORT: '0' } })
const timer = setTimeout(() => { console.log('STUCK after', Date.now() - t0); process.exit(1) }, 30000)
try {
const gw = await startGateway({ auth: { issuer: as.issuer, audience: 'aud' } }, [{ id: 'team-1', name: 'team', connection: { type: 'http', url: team.url } }])
console.log('gw up', gw.url, Date.now() - t0)
} catch (e) { console.log('ERR', String(e).slice(0, 2000)) }
clearTimeout(timer)
await as.close(); await killAll(); process.exit(0)
