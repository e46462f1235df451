import { once } from 'node:events'
import { utimesSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { buildWorkspace, fleetState, makeExampleWorkspace, processesIn, runFleet, stopFleets, type FleetProcess } from '../helpers/fleet.js'

// `airmcp start` as a supervisor, on the example workspace (search and files over SSE, analytics over stdio),
// every port chosen free by the supervisor so the suite runs beside anything else (the README's demo included).

async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as AddressInfo).port, server }
}

describe('airmcp start', () => {
  let root = ''
  let cleanup = () => {}
  beforeAll(async () => {
    ;({ root, cleanup } = await makeExampleWorkspace())
    buildWorkspace(root)
  }, 120_000)
  afterAll(async () => {
    await closeClients()
    await stopFleets()
    cleanup()
  })

  it('restarts an SSE server killed with SIGKILL, and the gateway serves it again while another server keeps answering', async () => {
    const fleet: FleetProcess = await runFleet(root, 'start')
    const client = await connectClient('http', fleet.gatewayUrl)
    const search = () => client.callTool({ name: 'search', arguments: { query: 'q' } })
    const files = () => client.callTool({ name: 'list_files', arguments: { dir: '.' } })
    expect((await search()).isError ?? false).toBe(false)
    const before = fleetState(root).servers.find((s) => s.name === 'search')!
    process.kill(before.pid, 'SIGKILL')
    await fleet.waitForLine(/search\s+\| exited \(SIGKILL\); restarting/)

    // Poll through the gateway: every round calls files (must always answer) and tries search.
    const startedAt = Date.now()
    let rounds = 0
    let searchBack = false
    while (!searchBack && Date.now() - startedAt < 5000) {
      rounds++
      const other = await files()
      expect(other.isError ?? false, textOf(other)).toBe(false)
      const result = await search().catch((error: Error) => ({ isError: true, content: [{ type: 'text', text: error.message }] }))
      searchBack = !result.isError
    }
    expect(searchBack, `search did not answer through the gateway within 5 s (${rounds} rounds)`).toBe(true)
    const after = fleetState(root).servers.find((s) => s.name === 'search')!
    expect(after.pid).not.toBe(before.pid)
    expect(after.port).toBe(before.port)
    console.log(`[fleet] search back through the gateway after ${Date.now() - startedAt} ms, ${rounds} rounds`)

    const status = await runCli(['status', '--json'], { cwd: root })
    expect(status.code, status.stderr).toBe(0)
    const servers = JSON.parse(status.stdout).servers as { name: string; status: string; calls: number; transport: string }[]
    expect(servers.map((s) => s.name).sort()).toEqual(['analytics', 'files', 'search'])
    expect(servers.every((s) => s.status === 'connected')).toBe(true)
    expect(servers.find((s) => s.name === 'files')!.calls).toBeGreaterThanOrEqual(rounds)
    const table = await runCli(['status'], { cwd: root })
    expect(table.stdout).toMatch(/SERVER\s+ID\s+TRANSPORT\s+STATUS\s+CALLS\s+ERRORS\s+MEDIAN\s+LAST ERROR/)
    expect(table.stdout).toMatch(/search\s+search-1\s+sse\s+connected/)

    await client.close()
    await stopFleets()
    expect(processesIn(root)).toEqual([])
  })

  it('the supervisor killed with SIGKILL: its servers and the gateway notice and stop, no orphan keeps a port', async () => {
    const fleet = await runFleet(root, 'start')
    expect(processesIn(root).length).toBeGreaterThanOrEqual(4) // supervisor, search, files, gateway (+ analytics)
    process.kill(fleet.child.pid!, 'SIGKILL')
    // Each child's IPC channel closes with the supervisor; poll (bounded) until none is left. 30 s is an upper
    // bound for a loaded machine, where each child's clean shutdown (the gateway's above all) can take seconds.
    const deadline = Date.now() + 30_000
    while (processesIn(root).length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(processesIn(root)).toEqual([])
  }, 120_000)

  it("a server's port taken: exits non-zero with one line naming the port, the server and the fix; nothing left running", async () => {
    await stopFleets()
    const { port, server } = await holdPort()
    try {
      // search declares 3510: an offset that lands it on the port we hold.
      const result = await runCli(['start', '--port-offset', String(port - 3510)], { cwd: root })
      expect(result.code).not.toBe(0)
      const lines = result.stderr.trim().split('\n')
      expect(lines, result.stderr).toHaveLength(1)
      expect(lines[0]).toMatch(new RegExp(`Port ${port} \\(server "search"\\) is already in use\\. Try this: stop what listens on ${port}, or .*--port-offset`))
      expect(processesIn(root)).toEqual([])
    } finally {
      server.close()
    }
  })

  it("the gateway's port taken (AIRMCP_GATEWAY_PORT, and AIRMCP_PORT set too): one line naming AIRMCP_GATEWAY_PORT; nothing left", async () => {
    const { port, server } = await holdPort()
    try {
      const result = await runCli(['start', '--free-ports'], { cwd: root, env: { AIRMCP_GATEWAY_PORT: String(port), AIRMCP_PORT: String(port) } })
      expect(result.code).not.toBe(0)
      const errors = result.stderr.trim().split('\n').filter((line) => line.startsWith('Error:'))
      expect(errors, result.stderr).toHaveLength(1)
      expect(errors[0]).toMatch(new RegExp(`Port ${port} \\(the gateway\\) is already in use\\. Try this: .*AIRMCP_GATEWAY_PORT=`))
      expect(processesIn(root)).toEqual([])
    } finally {
      server.close()
    }
  })

  it('names a dist/ older than its sources before starting (a stale gateway after add server)', async () => {
    const { port, server } = await holdPort()
    const future = new Date(Date.now() + 60_000)
    utimesSync(join(root, 'gateway/src/index.ts'), future, future)
    try {
      const result = await runCli(['start', '--free-ports'], { cwd: root, env: { AIRMCP_GATEWAY_PORT: String(port) } })
      expect(result.stderr).toMatch(/gateway\/dist is older than gateway\/src\/index\.ts: it runs the old build\. Run npm run build/)
    } finally {
      server.close()
      const past = new Date(Date.now() - 3_600_000)
      utimesSync(join(root, 'gateway/src/index.ts'), past, past)
    }
  })
})
