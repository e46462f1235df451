// `npm run bench tasks`: tasks/get of a running task, directly and through the gateway, measured in turns
// beside a plain tools/call on the same paths (what the gateway's 2026 front costs any request).
import { startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { send, TASKS_EXTENSION, type WireClient } from '../helpers/wire-2026.js'
import { fmt, interleavedMedians } from './measure.js'

export async function tasksSection(out: (line?: string) => void): Promise<void> {
  const upstream = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/conformance.ts'], { env: { AIRMCP_PORT: '0' } })).url
  const gateway = (await startListening([...TSX_NODE_ARGS, 'fixtures/servers/bench-gateway.ts'], { env: { UPSTREAM: upstream, UPSTREAM_PROTOCOL: '' } })).url
  const capabilities = { elicitation: {}, extensions: { [TASKS_EXTENSION]: {} } }
  const paths: WireClient[] = [
    { url: upstream, capabilities },
    { url: gateway, capabilities },
  ]
  // One long task on each path, cancelled after the measurement.
  const taskIds = await Promise.all(
    paths.map(async (client) => (await send(client, 'tools/call', { name: 'slow_compute', arguments: { seconds: 600 } })).taskId as string),
  )
  const [directGet, gatewayGet, directCall, gatewayCall] = await interleavedMedians(
    [
      ...paths.map((client, i) => ({ callTool: () => send(client, 'tasks/get', { taskId: taskIds[i] }) })),
      ...paths.map((client) => ({ callTool: () => send(client, 'tools/call', { name: 'greet', arguments: { name: 'bench' } }) })),
    ],
    1000,
    200,
  )
  await Promise.all(paths.map((client, i) => send(client, 'tasks/cancel', { taskId: taskIds[i] })))
  out('## Tasks')
  out()
  out('2026-07-28 requests from a raw HTTP client (the SDK client takes no task results yet), medians in turns.')
  out()
  out('| request | direct, ms | through the gateway, ms | gateway × direct |')
  out('| --- | --- | --- | --- |')
  out(`| tasks/get of a running task (id sealed, checked, routed to its member) | ${fmt(directGet!)} | ${fmt(gatewayGet!)} | ${fmt(gatewayGet! / directGet!)} |`)
  out(`| tools/call of a sync tool, for comparison | ${fmt(directCall!)} | ${fmt(gatewayCall!)} | ${fmt(gatewayCall! / directCall!)} |`)
  out()
  out('Target: tasks/get through the gateway ≤ 1.3× direct.')
  out()
}
