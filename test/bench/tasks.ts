// `npm run bench tasks`: tasks/get of a running task, directly and through the gateway, measured in turns
// beside a plain tools/call on the same paths (what the gateway's 2026 front costs any request), and through
// the do-nothing relay (fixtures/servers/bench-relay.ts): what the extra hop alone costs on this machine.
import { startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { send, TASKS_EXTENSION, type WireClient } from '../helpers/wire-2026.js'
import { fmt, interleavedMedians } from './measure.js'

export async function tasksSection(out: (line?: string) => void): Promise<void> {
  const upstream = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/conformance.ts'], { env: { AIRMCP_PORT: '0' } })).url
  const gateway = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-gateway.ts'], { env: { UPSTREAM: upstream, UPSTREAM_PROTOCOL: '' } })).url
  const relay = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-relay.ts'], { env: { UPSTREAM: upstream } })).url
  const capabilities = { elicitation: {}, extensions: { [TASKS_EXTENSION]: {} } }
  const paths: WireClient[] = [
    { url: upstream, capabilities },
    { url: gateway, capabilities },
  ]
  // One long task on each path, cancelled after the measurement (the relay passes the direct one's bytes on).
  const taskIds = await Promise.all(
    paths.map(async (client) => (await send(client, 'tools/call', { name: 'slow_compute', arguments: { seconds: 600 } })).taskId as string),
  )
  const viaRelay: WireClient = { url: relay, capabilities }
  const [directGet, gatewayGet, relayGet, directCall, gatewayCall, relayCall] = await interleavedMedians(
    [
      ...[...paths, viaRelay].map((client, i) => ({ callTool: () => send(client, 'tasks/get', { taskId: taskIds[i % 2]! }) })),
      ...[...paths, viaRelay].map((client) => ({ callTool: () => send(client, 'tools/call', { name: 'greet', arguments: { name: 'bench' } }) })),
    ],
    1000,
    200,
  )
  await Promise.all(paths.map((client, i) => send(client, 'tasks/cancel', { taskId: taskIds[i] })))
  out('## Tasks')
  out()
  out('2026-07-28 requests from a raw HTTP client (the SDK client takes no task results yet), medians in turns.')
  out()
  out('| request | direct, ms | through the gateway, ms | gateway × direct | through the do-nothing relay, ms | relay × direct |')
  out('| --- | --- | --- | --- | --- | --- |')
  out(`| tasks/get of a running task (id sealed, checked, routed to its member) | ${fmt(directGet!)} | ${fmt(gatewayGet!)} | ${fmt(gatewayGet! / directGet!)} | ${fmt(relayGet!)} | ${fmt(relayGet! / directGet!)} |`)
  out(`| tools/call of a sync tool, for comparison | ${fmt(directCall!)} | ${fmt(gatewayCall!)} | ${fmt(gatewayCall! / directCall!)} | ${fmt(relayCall!)} | ${fmt(relayCall! / directCall!)} |`)
  out()
  out('Target: tasks/get through the gateway ≤ 1.3× direct. The relay passes bytes and nothing else: its ratio is the floor any HTTP hop has on this machine.')
  out()
}
