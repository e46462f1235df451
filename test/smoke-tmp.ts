import { Gateway } from '../dist/gateway/index.js'
import { startListening, TSX_NODE_ARGS, killAll } from './helpers/processes.ts'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
const r = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/era-strict-v2.ts'], {})
const g = new Gateway({ name: 'g', port: 0, handleSignals: false })
g.register({ id: 'm', name: 'm', connection: { type: 'http', url: r.url } })
await g.start()
console.log(g.list())
for (const mode of ['legacy', 'auto'] as const) {
  const c = new Client({ name: 't', version: '1' }, { capabilities: { elicitation: {}, sampling: {} }, versionNegotiation: { mode } })
  c.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }))
  c.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'short' } }))
  await c.connect(new StreamableHTTPClientTransport(new URL(g.url!)))
  console.log(mode, c.getProtocolEra(), c.getNegotiatedProtocolVersion())
  try {
    console.log((await c.listTools()).tools.map((t) => t.name))
    console.log(JSON.stringify(await c.callTool({ name: 'echo', arguments: { text: 'hi' } })))
    console.log(JSON.stringify(await c.callTool({ name: 'confirm', arguments: {} })))
    console.log(JSON.stringify(await c.callTool({ name: 'summarize', arguments: {} })))
    console.log(JSON.stringify(await c.readResource({ uri: 'memo://note' })))
    console.log(JSON.stringify(await c.getPrompt({ name: 'greet', arguments: { who: 'Bob' } })))
  } catch (e) { console.log('ERR', e) }
  await c.close()
}
await g.stop(); await killAll()
