import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, killProcess, ROOT, startListening, type Started } from '../helpers/processes.js'

// The promise of `airmcp new --example`: install, build, start, and one endpoint serves every tool.
// The generated workspace uses the seed's ports (3510, 3511, gateway 4000): here the ports are the point.
const GATEWAY = 'http://127.0.0.1:4000/mcp'

describe('a generated workspace, end to end', () => {
  let dir = ''
  let fleet: Started | undefined
  const npm = (args: string[]) =>
    execFileSync('npm', args, { cwd: dir, stdio: 'pipe', encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } })
  const start = () =>
    startListening([join(ROOT, 'bin/run.js'), 'start'], { cwd: dir, pattern: /\[gateway\] Gateway ".*" listening on (http:\/\/\S+)/ })

  beforeAll(async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'airmcp-e2e-'))
    const created = await runCli(['new', 'my-platform', '--example', '--yes', '--no-git'], { cwd })
    expect(created.code, created.stderr).toBe(0)
    dir = join(cwd, 'my-platform')
    npm(['run', 'build'])
  }, 300_000)
  afterAll(async () => {
    await closeClients()
    await killAll()
  })

  it('starts the seed architecture and serves search, read_file and aggregate through the gateway', async () => {
    fleet = await start()
    expect(fleet.url).toBe(GATEWAY)
    const client = await connectClient('http', GATEWAY)
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
    await client.close()
  })

  it('adds an http server, syncs the gateway, and serves its tools after a restart', async () => {
    const added = await runCli(['add', 'server', 'notes', '--transport', 'http', '--tool', 'create_note', '--json'], { cwd: dir })
    expect(added.code, added.stderr).toBe(0)
    expect(JSON.parse(added.stdout)).toMatchObject({ server: 'notes', transport: 'http', port: 3512, synced: true })
    expect(readFileSync(join(dir, 'gateway/src/index.ts'), 'utf8')).toContain("url: 'http://localhost:3512/mcp'")
    const check = await runCli(['gateway', 'sync', '--check'], { cwd: dir })
    expect(check.code, check.stderr).toBe(0)
    npm(['run', 'build'])
    await killProcess(fleet!.child)
    fleet = await start()
    const client = await connectClient('http', GATEWAY)
    const names = (await client.listTools()).tools.map((t) => t.name)
    expect(names).toContain('create_note')
    const created = await client.callTool({ name: 'create_note', arguments: { input: 'hi' } })
    expect(created.structuredContent).toEqual({ todo: 'implement create_note', input: 'hi' })
  })

  it("passes the workspace's own generated tests", () => {
    const output = npm(['test'])
    expect(output).toMatch(/Tests\s+\d+ passed/)
    expect(output).not.toMatch(/failed/)
  })
})

describe('a plain workspace, end to end', () => {
  it('`new demo --yes` installs, and the workspace builds and tests with no server yet', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'airmcp-plain-'))
    const created = await runCli(['new', 'demo', '--yes', '--no-git'], { cwd })
    expect(created.code, created.stderr).toBe(0)
    expect(created.stderr).toMatch(/Installed in/)
    const env = { ...process.env, NO_COLOR: '1' }
    execFileSync('npm', ['run', 'build'], { cwd: join(cwd, 'demo'), stdio: 'pipe', env })
    execFileSync('npm', ['test'], { cwd: join(cwd, 'demo'), stdio: 'pipe', env })
    const again = await runCli(['new', 'demo', '--yes', '--no-git'], { cwd })
    expect(again.code).not.toBe(0)
  }, 300_000)
})
