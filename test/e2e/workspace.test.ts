import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { interrupt, processesIn, runFleet, stopFleets, type FleetProcess } from '../helpers/fleet.js'
import { ROOT } from '../helpers/processes.js'

// The README's newcomer path, command by command, in a temp folder, with the CLI installed as the README
// says until airmcp is published (npm pack, npm install -g of the tarball, here under a temp prefix):
//   airmcp new my-platform --example → airmcp dev → airmcp add server → airmcp connect → airmcp status
//   → npm test → npm run build && airmcp start.
// Every port is chosen free (`--free-ports`), so this runs beside the README's own demo on 3510/3511/4000.

describe("the README's newcomer path, end to end", () => {
  let parent = ''
  let dir = ''
  let fleet: FleetProcess | undefined
  const npm = (args: string[]) =>
    execFileSync('npm', args, { cwd: dir, stdio: 'pipe', encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } })

  let cli = ''
  const airmcp = (args: string[]) => runCli(args, { cwd: dir, cli })

  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), 'airmcp-e2e-'))
    const quiet = { stdio: 'pipe' as const, encoding: 'utf8' as const }
    const tarball = execFileSync('npm', ['pack', '--pack-destination', parent, '--silent'], { ...quiet, cwd: ROOT }).trim().split('\n').at(-1)!
    execFileSync('npm', ['install', '-g', '--prefix', join(parent, 'global'), join(parent, tarball), '--no-audit', '--no-fund'], { ...quiet, cwd: parent })
    cli = join(parent, 'global/lib/node_modules/airmcp/bin/run.js')
    const created = await runCli(['new', 'my-platform', '--example', '--yes', '--no-git'], { cwd: parent, cli })
    expect(created.code, created.stderr).toBe(0)
    expect(created.stderr).toMatch(/Installed in/)
    dir = join(parent, 'my-platform')
    // Unpublished: the workspace links the installed package rather than asking the registry for ^0.1.0.
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).devDependencies.airmcp).toMatch(/^file:.*global\/lib\/node_modules\/airmcp$/)
  }, 400_000)
  afterAll(async () => {
    await closeClients()
    await stopFleets()
    rmSync(parent, { recursive: true, force: true })
  })

  it('airmcp dev builds and serves search, read_file and aggregate through one gateway', async () => {
    fleet = await runFleet(dir, 'dev', {}, cli)
    const client = await connectClient('http', fleet.gatewayUrl)
    const names = (await client.listTools()).tools.map((t) => t.name).sort()
    expect(names).toEqual(['aggregate', 'list_files', 'read_file', 'search', 'search_reindex'])
    expect((await client.callTool({ name: 'search', arguments: { query: 'hello' } })).structuredContent).toEqual({
      results: [],
      total: 0,
      query: 'hello',
    })
    expect(textOf(await client.callTool({ name: 'read_file', arguments: { path: 'README.md' } }))).toBe(
      readFileSync(join(dir, 'README.md'), 'utf8'),
    )
    const escape = await client.callTool({ name: 'read_file', arguments: { path: '../../../etc/passwd' } })
    expect(escape).toMatchObject({ isError: true })
    expect(textOf(escape)).toMatch(/outside the files root/)
    const aggregate = await client.callTool({ name: 'aggregate', arguments: { metric: 'sales', period: '30d' } })
    expect(aggregate.structuredContent).toMatchObject({ metric: 'sales', period: '30d', unit: 'count' })
  }, 180_000)

  it('airmcp add server notes while dev runs: a connected client gets its tools without reconnecting', async () => {
    const client = await connectClient('http', fleet!.gatewayUrl)
    let changed = 0
    let wake = () => {}
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++
      wake()
    })
    const added = await airmcp(['add', 'server', 'notes', '--transport', 'http', '--tool', 'create_note', '--json'])
    expect(added.code, added.stderr).toBe(0)
    expect(JSON.parse(added.stdout)).toMatchObject({ server: 'notes', transport: 'http', port: 3512, synced: true })
    for (;;) {
      const seen = changed
      if ((await client.listTools()).tools.some((t) => t.name === 'create_note')) break
      if (changed === seen) await new Promise<void>((resolve) => (wake = resolve))
    }
    const created = await client.callTool({ name: 'create_note', arguments: { input: 'hi' } })
    expect(created.structuredContent).toEqual({ todo: 'implement create_note', input: 'hi' })
    expect((await airmcp(['gateway', 'sync', '--check'])).code).toBe(0)
  }, 180_000)

  it('airmcp connect claude-code points the client at the running gateway', async () => {
    const port = new URL(fleet!.gatewayUrl).port
    const connected = await airmcp(['connect', 'claude-code', '--port', port, '--json'])
    expect(connected.code, connected.stderr).toBe(0)
    const config = JSON.parse(readFileSync(join(dir, '.mcp.json'), 'utf8'))
    expect(Object.values(config.mcpServers)).toContainEqual({ type: 'http', url: fleet!.gatewayUrl })
  })

  it('airmcp status lists every server with its transport and figures', async () => {
    const status = await airmcp(['status'])
    expect(status.code, status.stderr).toBe(0)
    for (const [name, transport] of [['search', 'sse'], ['files', 'sse'], ['analytics', 'stdio'], ['notes', 'http']]) {
      expect(status.stdout).toMatch(new RegExp(`${name}\\s+${name}-1\\s+${transport}\\s+connected\\s+\\d+\\s+\\d+`))
    }
    const json = JSON.parse((await airmcp(['status', '--json'])).stdout)
    expect(json.servers.find((s: { name: string }) => s.name === 'search').calls).toBeGreaterThanOrEqual(1)
  })

  it('Ctrl-C stops dev and everything it started', async () => {
    expect(await interrupt(fleet!.child)).toBe(0)
    expect(processesIn(dir)).toEqual([])
  })

  it("npm test passes the workspace's own generated tests", () => {
    const output = npm(['test'])
    expect(output).toMatch(/Tests\s+\d+ passed/)
    expect(output).not.toMatch(/failed/)
  }, 180_000)

  it('npm run build && airmcp start serves the same fleet, and Ctrl-C leaves nothing', async () => {
    npm(['run', 'build'])
    const started = await runFleet(dir, 'start', {}, cli)
    const client = await connectClient('http', started.gatewayUrl)
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('create_note')
    await client.close()
    expect(await interrupt(started.child)).toBe(0)
    expect(processesIn(dir)).toEqual([])
  }, 180_000)
})

describe('a plain workspace, end to end', () => {
  it('`new demo --yes` installs, and the workspace builds and tests with no server yet', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'airmcp-plain-'))
    try {
      const created = await runCli(['new', 'demo', '--yes', '--no-git'], { cwd })
      expect(created.code, created.stderr).toBe(0)
      expect(created.stderr).toMatch(/Installed in/)
      const env = { ...process.env, NO_COLOR: '1' }
      execFileSync('npm', ['run', 'build'], { cwd: join(cwd, 'demo'), stdio: 'pipe', env })
      execFileSync('npm', ['test'], { cwd: join(cwd, 'demo'), stdio: 'pipe', env })
      const again = await runCli(['new', 'demo', '--yes', '--no-git'], { cwd })
      expect(again.code).not.toBe(0)
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  }, 300_000)
})
