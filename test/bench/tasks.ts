// `npm run bench tasks`: tasks/get of a running task, directly and through the gateway, measured in turns
// beside a plain tools/call on the same paths (what the gateway's 2026 front costs any request), and through
// two relays (fixtures/servers/bench-relay.ts, test/bench/lean-relay.ts): what the extra hop alone costs here.
import { startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { send, TASKS_EXTENSION, type WireClient } from '../helpers/wire-2026.js'
import { fmt, interleavedMedians } from './measure.js'

export async function tasksSection(out: (line?: string) => void): Promise<void> {
  const upstream = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/conformance.ts'], { env: { AIRMCP_PORT: '0' } })).url
  const gateway = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-gateway.ts'], { env: { UPSTREAM: upstream, UPSTREAM_PROTOCOL: '' } })).url
  const relay = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-relay.ts'], { env: { UPSTREAM: upstream } })).url
  const leanRelay = (await startListening([...TSX_NODE_ARGS, 'test/bench/lean-relay.ts'], { env: { UPSTREAM: upstream } })).url
  const capabilities = { elicitation: {}, extensions: { [TASKS_EXTENSION]: {} } }
  const paths: WireClient[] = [
    { url: upstream, capabilities },
    { url: gateway, capabilities },
  ]
  // One long task on each path, cancelled after the measurement.
  const taskIds = await Promise.all(
    paths.map(async (client) => (await send(client, 'tools/call', { name: 'slow_compute', arguments: { seconds: 600 } })).taskId as string),
  )
  // The relays pass the direct path's task id on.
  const all: [WireClient, string][] = [...paths.map((client, i): [WireClient, string] => [client, taskIds[i]!]), ...[relay, leanRelay].map((url): [WireClient, string] => [{ url, capabilities }, taskIds[0]!])]
  const [directGet, gatewayGet, relayGet, leanGet, directCall, gatewayCall, relayCall, leanCall] = await interleavedMedians(
    [
      ...all.map(([client, taskId]) => ({ callTool: () => send(client, 'tasks/get', { taskId }) })),
      ...all.map(([client]) => ({ callTool: () => send(client, 'tools/call', { name: 'greet', arguments: { name: 'bench' } }) })),
    ],
    1000,
    200,
  )
  await Promise.all(paths.map((client, i) => send(client, 'tasks/cancel', { taskId: taskIds[i] })))
  out('## Tasks')
  out()
  out('2026-07-28 requests from a raw HTTP client (the SDK client takes no task results yet), medians in turns.')
  out()
  const row = (request: string, direct: number, ...through: number[]) => out(`| ${request} | ${fmt(direct)} | ${through.map((ms) => `${fmt(ms)} (${fmt(ms / direct)}×)`).join(' | ')} |`)
  out('| request | direct, ms | through the gateway, ms (× direct) | through the do-nothing relay | through a relay of the gateway\'s own HTTP parts |')
  out('| --- | --- | --- | --- | --- |')
  row('tasks/get of a running task (id sealed, checked, routed to its member)', directGet!, gatewayGet!, relayGet!, leanGet!)
  row('tools/call of a sync tool, for comparison', directCall!, gatewayCall!, relayCall!, leanCall!)
  out()
  out(
    "Target: tasks/get through the gateway ≤ 1.3× direct. The relays pass bytes and nothing else (test/bench/lean-relay.ts: node:http's server and the gateway's upstream client): their ratios are what an HTTP hop alone costs on this machine.",
  )
  out()
}
