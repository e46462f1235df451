import { Gateway } from '../dist/gateway/index.js'
import { startListening, TSX_NODE_ARGS, killAll } from './helpers/processes.ts'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
const kind = process.argv[2]
const r = kind === 'stdio-legacy' ? undefined : await startListening([...TSX_NODE_ARGS, kind === 'legacy' ? 'fixtures/servers/era-legacy.ts' : 'fixtures/servers/era-strict-v2.ts'], {})
const g = new Gateway({ name: 'g', port: 0, handleSignals: false })
g.register({ id: 'm', name: 'm', connection: r ? { type: 'http', url: r.url } : { type: 'stdio', command: 'node', args: ['--import', 'tsx', 'fixtures/servers/era-legacy.ts'], env: { TRANSPORT: 'stdio' } } })
await g.start()
console.log(g.list())
for (const mode of ['legacy', 'auto'] as const) {
  const c = new Client({ name: 't', version: '1' }, { capabilities: { elicitation: {}, sampling: {} }, versionNegotiation: { mode } })
  c.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }))
  c.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'short' } }))
  await c.connect(new StreamableHTTPClientTransport(new URL(g.url!)))
  console.log(mode, c.getProtocolEra(), c.getNegotiatedProtocolVersion())
  try {
    const progress: number[] = []
    console.log(JSON.stringify(await c.callTool({ name: 'progress', arguments: {} }, { onprogress: (p) => progress.push(p.progress) })), progress)
    console.log(JSON.stringify(await c.callTool({ name: 'confirm', arguments: {} })))
    console.log(JSON.stringify(await c.callTool({ name: 'summarize', arguments: {} })))
    const ac = new AbortController()
    const p = c.callTool({ name: 'hang', arguments: {} }, { signal: ac.signal }).catch((e) => String(e))
    setTimeout(() => ac.abort(), 300)
    console.log(await p)
    await new Promise((r) => setTimeout(r, 300))
    console.log(JSON.stringify(await c.callTool({ name: 'cancelled', arguments: {} })))
  } catch (e) { console.log('ERR', e) }
  await c.close()
}
await g.stop(); await killAll()
