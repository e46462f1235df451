import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import {
  distTimes,
  fleetState,
  interrupt,
  makeExampleWorkspace,
  otherNode,
  processesIn,
  runFleet,
  stopFleets,
  type FleetProcess,
} from '../helpers/fleet.js'

// `airmcp dev` on the example workspace, free ports: one client stays connected through every change, and
// every way an editor or a script saves a file is rebuilt and served.

type Client = Awaited<ReturnType<typeof connectClient>>

const SEARCH = 'servers/search/src/index.ts'

/** The search server's answer with a `saved` field: each way of saving writes a new value into its handler. */
const withSaved = (text: string, saved: string) => text.replace(/query(, saved: '[^']*')? \}/, `query, saved: '${saved}' }`)

let queries = 0

/** The `saved` value the search tool answers with through the gateway (undefined while it restarts). */
async function servedSaved(client: Client): Promise<string | undefined> {
  try {
    const result = await client.callTool({ name: 'search', arguments: { query: `q${++queries}` } })
    return (JSON.parse(textOf(result)) as { saved?: string }).saved
  } catch {
    return undefined
  }
}

/** Waits until the gateway serves the search server built from the save that wrote `saved`. */
async function expectServed(client: Client, saved: string): Promise<void> {
  await expect.poll(() => servedSaved(client), { timeout: 90_000, interval: 200 }).toBe(saved)
}

/** `sed -i`: GNU sed writes a new file beside the old one and renames it over it. */
const sed = (file: string, script: string) => execFileSync('sed', ['-i', script, file])

describe('airmcp dev', () => {
  let root = ''
  let cleanup = () => {}
  let fleet: FleetProcess
  let client: Client
  let notifications = 0
  let wake: () => void = () => {}
  const search = () => join(root, SEARCH)
  const rebuilds = () => fleet.stdout().match(/\| rebuilding .*$/gm) ?? []

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

  it('prints where to point a client', async () => {
    expect(await fleet.waitForLine(/Connect a client:/)).toMatch(/Connect a client: {2}airmcp connect claude-code --port \d+/)
    await fleet.waitForLine(/watching servers\/ and gateway\/ for changes/)
    expect(fleet.stdout()).toMatch(/MCP Inspector: .*Streamable HTTP, URL http:\/\/127\.0\.0\.1:\d+\/mcp/)
  })

  it("a tool's new description reaches the connected client with list_changed, without reconnecting", async () => {
    const before = notifications
    writeFileSync(search(), readFileSync(search(), 'utf8').replace('Full-text search across titles and body', 'Search, rebuilt by airmcp dev'))
    const tools = await untilTools((list) => list.some((t) => t.name === 'search' && t.description === 'Search, rebuilt by airmcp dev'))
    expect(notifications).toBeGreaterThan(before)
    expect(tools.map((t) => t.name).sort()).toEqual(['aggregate', 'list_files', 'read_file', 'search', 'search_reindex'])
    expect(fleet.stdout()).toMatch(/dev\s+\| search: restarting/)
    expect(fleet.stdout()).not.toMatch(/files: restarting/)
  }, 120_000)

  it('saved in place (the same file rewritten): rebuilt, and the gateway serves the new code', async () => {
    const before = rebuilds().length
    writeFileSync(search(), withSaved(readFileSync(search(), 'utf8'), 'in place'))
    await expectServed(client, 'in place')
    expect(rebuilds().length).toBeGreaterThan(before)
  }, 120_000)

  it('saved by write-and-rename (sed -i), three times in a row: every one is rebuilt and served', async () => {
    for (const saved of ['sed 1', 'sed 2', 'sed 3']) {
      const before = rebuilds().length
      sed(search(), `s/saved: '[^']*'/saved: '${saved}'/`)
      await expectServed(client, saved)
      expect(rebuilds().length).toBeGreaterThan(before)
    }
  }, 240_000)

  it('deleted and created again: the file, then its whole src/ folder', async () => {
    let text = withSaved(readFileSync(search(), 'utf8'), 'file re-created')
    unlinkSync(search())
    writeFileSync(search(), text)
    await expectServed(client, 'file re-created')

    text = withSaved(text, 'folder re-created')
    rmSync(dirname(search()), { recursive: true })
    mkdirSync(dirname(search()))
    writeFileSync(search(), text)
    await expectServed(client, 'folder re-created')
  }, 180_000)

  it('its src/ folder deleted and created again, then saved by rename: the new folder is watched and the save served', async () => {
    const text = readFileSync(search(), 'utf8')
    rmSync(dirname(search()), { recursive: true })
    mkdirSync(dirname(search()))
    writeFileSync(search(), withSaved(text, 'new folder'))
    await expectServed(client, 'new folder')
    const temporary = `${search()}___jb_tmp___`
    writeFileSync(temporary, withSaved(text, 'renamed into the new folder'))
    renameSync(temporary, search())
    await expectServed(client, 'renamed into the new folder')
  }, 180_000)

  it("an editor's save (a temp file renamed over the source, swap and backup files beside it): that server alone is rebuilt", async () => {
    const before = rebuilds().length
    const noise = [`${search()}.swp`, join(dirname(search()), '.index.ts.swp'), join(root, 'gateway/src/.index.ts.swp'), join(root, 'gateway/src/index.ts~')]
    for (const file of noise) writeFileSync(file, 'not source')
    const temporary = `${search()}___jb_tmp___`
    writeFileSync(temporary, withSaved(readFileSync(search(), 'utf8'), 'editor'))
    renameSync(temporary, search())
    await expectServed(client, 'editor')
    expect(rebuilds().slice(before)).toEqual(['| rebuilding servers/search'])
    for (const file of noise) unlinkSync(file)
  }, 120_000)

  it('a TypeScript error saved by rename is reported, the last good build keeps serving, and the fix is rebuilt', async () => {
    const good = readFileSync(search(), 'utf8')
    const temporary = `${search()}.tmp`
    writeFileSync(temporary, `${withSaved(good, 'broken')}\nconst broken: number = 'not a number';\n`)
    renameSync(temporary, search())
    await fleet.waitForLine(/the build failed \(errors above\)/)
    expect(fleet.stdout()).toMatch(/tsc\s+\| servers\/search\/src\/index\.ts.*error TS2322/)
    expect(await servedSaved(client)).toBe('editor')

    writeFileSync(temporary, withSaved(good, 'fixed'))
    renameSync(temporary, search())
    await expectServed(client, 'fixed')
  }, 180_000)

  it("a changed stdio server is rebuilt and respawned by the gateway: the client sees its new description", async () => {
    const file = join(root, 'servers/analytics/src/index.ts')
    const text = readFileSync(file, 'utf8')
    const description = /description: '([^']+)'/.exec(text)![1]
    writeFileSync(file, text.replace(description, 'Aggregates, rebuilt'))
    await untilTools((list) => list.some((t) => t.name === 'aggregate' && t.description === 'Aggregates, rebuilt'))
  }, 120_000)

  it("add server during dev (a new folder): the new server's tools appear through the gateway on the same connection", async () => {
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

  it('the gateway file, replaced by add server, then edited by rename: the new registration reaches the running gateway', async () => {
    sed(join(root, 'gateway/src/index.ts'), "s/id: 'notes-1',/id: 'notes-1', tools: { prefix: 'my_' },/")
    const tools = await untilTools((list) => list.some((t) => t.name === 'my_create_note'))
    expect(tools.map((t) => t.name)).not.toContain('create_note')
    const result = await client.callTool({ name: 'my_create_note', arguments: { input: 'hi' } })
    expect(result.isError ?? false, textOf(result)).toBe(false)
    expect(fleet.stdout()).toMatch(/gateway registrations ~notes-1 \(clients stay connected\)/)
  }, 120_000)

  it("the gateway's own code edited: rebuilt, restarted on the new build, and serving its registrations", async () => {
    sed(join(root, 'gateway/src/index.ts'), "s/name: 'demo-gateway'/name: 'renamed-gateway'/")
    const health = new URL('/health', fleet.gatewayUrl)
    const name = async () => ((await fetch(health).then((r) => r.json()).catch(() => ({}))) as { name?: string }).name
    await expect.poll(name, { timeout: 90_000, interval: 200 }).toBe('renamed-gateway')
    expect(fleet.stdout()).toMatch(/gateway: restarting on the new build \(its code changed beyond its registrations; clients reconnect\)/)
    await client.close()
    client = await connectClient('http', fleet.gatewayUrl)
    expect(client.getServerVersion()?.name).toBe('renamed-gateway')
    const result = await client.callTool({ name: 'my_create_note', arguments: { input: 'hi' } })
    expect(result.isError ?? false, textOf(result)).toBe(false)
    expect(await servedSaved(client)).toBe('fixed')
  }, 120_000)

  it('a second dev or start here is refused before anything is built or started', async () => {
    const before = distTimes(root)
    const state = readFileSync(join(root, '.airmcp/fleet.json'), 'utf8')
    for (const command of ['dev', 'start']) {
      const second = await runCli([command], { cwd: root })
      expect(second.code, second.stderr).toBe(1)
      expect(second.stderr).toContain(`airmcp dev is already running here (pid ${fleet.child.pid}).`)
      expect(second.stderr).toContain('Try this: stop it first (Ctrl-C in its terminal)')
      expect(second.stderr).toContain('(Code: ALREADY_RUNNING)')
      expect(second.stdout).toBe('')
    }
    expect(distTimes(root)).toEqual(before)
    expect(readFileSync(join(root, '.airmcp/fleet.json'), 'utf8')).toBe(state)
  }, 60_000)

  it('Ctrl-C stops every process it started', async () => {
    await client.close()
    expect(await interrupt(fleet.child)).toBe(0)
    expect(processesIn(root)).toEqual([])
  })
})

// The same loop under the other Node majors the package supports (this machine runs Node 20): npx fetches them.
describe.each([22, 24])('airmcp dev under Node %i', (major) => {
  let cleanup = () => {}
  afterAll(async () => {
    await closeClients()
    await stopFleets()
    cleanup()
  })

  it('a save by write-and-rename (sed -i) is rebuilt and served through the gateway; Ctrl-C leaves nothing', async () => {
    const node = otherNode(major)
    const workspace = await makeExampleWorkspace()
    cleanup = workspace.cleanup
    const { root } = workspace
    const fleet = await runFleet(root, 'dev', {}, undefined, node)
    // The supervisor runs its children on its own Node: the gateway is that binary too.
    expect(realpathSync(readlinkSync(`/proc/${fleetState(root).gateway.pid}/exe`))).toBe(realpathSync(node))
    const client = await connectClient('http', fleet.gatewayUrl)
    writeFileSync(join(root, SEARCH), withSaved(readFileSync(join(root, SEARCH), 'utf8'), 'before'))
    await expectServed(client, 'before')
    sed(join(root, SEARCH), `s/saved: 'before'/saved: 'node ${major}'/`)
    await expectServed(client, `node ${major}`)
    await client.close()
    expect(await interrupt(fleet.child)).toBe(0)
    expect(processesIn(root)).toEqual([])
  }, 240_000)
})
