import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { closeClients, connectClient } from '../helpers/clients.js'
import { interrupt, makeExampleWorkspace, processesIn, runFleet, stopFleets, type FleetProcess } from '../helpers/fleet.js'

// `airmcp dev` on the example workspace, free ports: one client stays connected through every change.

describe('airmcp dev', () => {
  let root = ''
  let cleanup = () => {}
  let fleet: FleetProcess
  let client: Awaited<ReturnType<typeof connectClient>>
  let notifications = 0
  let wake: () => void = () => {}

  /** Lists tools after each list_changed until `done` holds (the test's timeout bounds it). */
  async function untilTools(done: (tools: Tool[]) => boolean): Promise<Tool[]> {
    for (;;) {
      const seen = notifications
      const { tools } = await client.listTools()
      if (done(tools)) return tools
      if (notifications === seen) await new Promise<void>((resolve) => (wake = resolve))
    }
  }

  beforeAll(async () => {
    ;({ root, cleanup } = await makeExampleWorkspace())
    fleet = await runFleet(root, 'dev')
    client = await connectClient('http', fleet.gatewayUrl)
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      notifications++
      wake()
    })
  }, 180_000)
  afterAll(async () => {
    await closeClients()
    await stopFleets()
    cleanup()
  })

  it('prints where to point a client', () => {
    expect(fleet.stdout()).toMatch(/Connect a client: {2}airmcp connect claude-code --port \d+/)
    expect(fleet.stdout()).toMatch(/MCP Inspector: .*Streamable HTTP, URL http:\/\/127\.0\.0\.1:\d+\/mcp/)
  })

  it("a tool's new description reaches the connected client with list_changed, without reconnecting", async () => {
    const file = join(root, 'servers/search/src/index.ts')
    const before = notifications
    writeFileSync(file, readFileSync(file, 'utf8').replace('Full-text search across titles and body', 'Search, rebuilt by airmcp dev'))
    const tools = await untilTools((list) => list.some((t) => t.name === 'search' && t.description === 'Search, rebuilt by airmcp dev'))
    expect(notifications).toBeGreaterThan(before)
    expect(tools.map((t) => t.name).sort()).toEqual(['aggregate', 'list_files', 'read_file', 'search', 'search_reindex'])
    expect(fleet.stdout()).toMatch(/dev\s+\| search: restarting/)
    expect(fleet.stdout()).not.toMatch(/files: restarting/)
  }, 120_000)

  it("a changed stdio server is rebuilt and respawned by the gateway: the client sees its new description", async () => {
    const file = join(root, 'servers/analytics/src/index.ts')
    const text = readFileSync(file, 'utf8')
    const description = /description: '([^']+)'/.exec(text)![1]
    writeFileSync(file, text.replace(description, 'Aggregates, rebuilt'))
    await untilTools((list) => list.some((t) => t.name === 'aggregate' && t.description === 'Aggregates, rebuilt'))
  }, 120_000)

  it("add server during dev: the new server's tools appear through the gateway on the same connection", async () => {
    const added = await runCli(['add', 'server', 'notes', '--transport', 'http', '--tool', 'create_note'], { cwd: root })
    expect(added.code, added.stderr).toBe(0)
    await untilTools((list) => list.some((t) => t.name === 'create_note'))
    const result = await client.callTool({ name: 'create_note', arguments: { input: 'hi' } })
    expect(result.isError ?? false).toBe(false)
    expect(fleet.stdout()).toMatch(/gateway registrations \+notes-1 \(clients stay connected\)/)

    const status = await runCli(['status', '--json'], { cwd: root })
    expect(status.code, status.stderr).toBe(0)
    const servers = JSON.parse(status.stdout).servers as { name: string; status: string }[]
    expect(servers.map((s) => s.name).sort()).toEqual(['analytics', 'files', 'notes', 'search'])
  }, 120_000)

  it('Ctrl-C stops every process it started', async () => {
    await client.close()
    expect(await interrupt(fleet.child)).toBe(0)
    expect(processesIn(root)).toEqual([])
  })
})
