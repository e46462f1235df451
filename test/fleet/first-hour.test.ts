import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer as createHttpServer } from 'node:http'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineResource, defineServer, defineTool } from 'airmcp'
import { Gateway } from 'airmcp/gateway'
import { runCli } from '../helpers/cli.js'
import { closeClients, connectClient } from '../helpers/clients.js'
import { buildWorkspace, interrupt, makeExampleWorkspace, otherNode, processesIn, runFleet, stopFleets } from '../helpers/fleet.js'
import { ROOT } from '../helpers/processes.js'

// What a new user hit in their first hour (issue 11), each replayed as they did it.

async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as AddressInfo).port, server }
}

function runNode(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (d) => (stderr += d))
  child.stdout.on('data', (d) => (stdout += d))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr, stdout })))
}

// The README's "Your first hour", followed as written on a scaffolded workspace (its packages linked from this
// repository rather than installed), on Node 20 and on Node 22 (fetched by npx), each step asserted. Ports are
// free ones (--free-ports) rather than 4000/3510…, and connect gets the --port that dev's banner prints.
describe.each([20, 22])("the README's first hour, end to end, on Node %i", (major) => {
  let root = ''
  let home = ''
  let cleanup = () => {}
  let node = process.execPath
  beforeAll(async () => {
    if (major !== 20) node = otherNode(major)
    ;({ root, cleanup } = await makeExampleWorkspace({ name: 'my-platform' }))
    home = mkdtempSync(join(tmpdir(), 'airmcp-home-'))
  }, 120_000)
  afterAll(async () => {
    await stopFleets()
    cleanup()
    rmSync(home, { recursive: true, force: true })
  })
  /** The second terminal: `airmcp …` in the workspace, on this Node, with a home of its own. */
  const airmcp = (...args: string[]) => runCli(args, { cwd: root, node, env: { HOME: home } })
  /** `airmcp call` until its output matches (dev rebuilds and restarts meanwhile); the last result. */
  const callUntil = async (args: string[], expected: RegExp) => {
    let last = { code: 1, stdout: '', stderr: '' }
    await expect
      .poll(async () => {
        last = await airmcp('call', ...args)
        return last.code === 0 && expected.test(last.stdout)
      }, { timeout: 90_000, interval: 250 })
      .toBe(true)
    return last
  }

  it('new, dev, add server, connect, edit by rename, gateway edit, call, status with an error, Ctrl-C', async () => {
    expect(node === process.execPath || execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).startsWith(`${major}.`)).toBe(true)
    // airmcp dev: builds, runs every server and the gateway, and says where to point a client.
    const fleet = await runFleet(root, 'dev', { HOME: home }, undefined, node)
    const port = Number(new URL(fleet.gatewayUrl).port)
    expect(await fleet.waitForLine(/Connect a client:/)).toContain(`Connect a client:  airmcp connect claude-code --port ${port}`)

    // add server notes --tool create_note: dev builds and starts it, the gateway picks it up.
    const added = await airmcp('add', 'server', 'notes', '--transport', 'http', '--tool', 'create_note')
    expect(added.code, added.stderr).toBe(0)
    await fleet.waitForLine(/gateway registrations \+notes-1 \(clients stay connected\)/)
    const first = await callUntil(['create_note', 'input=hello'], /"todo":"implement create_note"/)
    expect(JSON.parse(first.stdout)).toEqual({ todo: 'implement create_note', input: 'hello' })

    // connect claude-code: the project's .mcp.json points at the running gateway.
    const connected = await airmcp('connect', 'claude-code', '--port', String(port))
    expect(connected.code, connected.stderr).toBe(0)
    expect(JSON.parse(readFileSync(join(root, '.mcp.json'), 'utf8')).mcpServers['my-platform']).toEqual({ type: 'http', url: fleet.gatewayUrl })

    // An edit saved by rename (sed -i): rebuilt, restarted, and the gateway serves it.
    execFileSync('sed', ['-i', "s/todo: 'implement create_note'/note: 'written'/", join(root, 'servers/notes/src/index.ts')])
    await callUntil(['create_note', 'input=hello'], /^\{"note":"written","input":"hello"\}$/m)

    // The gateway file (replaced by add server) edited by rename: the new registration is live.
    execFileSync('sed', ['-i', "s/id: 'notes-1',/id: 'notes-1', tools: { prefix: 'notes_' },/", join(root, 'gateway/src/index.ts')])
    await callUntil(['notes_create_note', 'input=again'], /"note":"written"/)
    const gone = await airmcp('call', 'create_note', 'input=x')
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/The gateway has no tool "create_note"/)

    // A failed call: status shows it in LAST ERROR, and status --json as lastError.
    const failed = await airmcp('call', 'read_file', 'path=no-such-file.txt')
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('Path "no-such-file.txt" does not exist.')
    const table = await airmcp('status')
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout.split('\n').find((line) => line.startsWith('files '))).toMatch(/\s\d\d:\d\d:\d\d Path "no-such-file\.txt" does not exist\.$/)
    expect(table.stdout).toMatch(/^notes\s+notes-1\s+http\s+connected\s/m)
    const json = await airmcp('status', '--json')
    const files = (JSON.parse(json.stdout).servers as { name: string; errors: number; lastError: { message: string } | null }[]).find((s) => s.name === 'files')!
    expect(files.errors).toBeGreaterThanOrEqual(1)
    expect(files.lastError?.message).toBe('Path "no-such-file.txt" does not exist.')

    // Ctrl-C stops everything: no process left in the workspace, no fleet state left behind.
    expect(await interrupt(fleet.child)).toBe(0)
    expect(processesIn(root)).toEqual([])
    expect(existsSync(join(root, '.airmcp/fleet.json'))).toBe(false)
    expect(`${fleet.stdout()}${fleet.stderr()}`).not.toMatch(/build failed|could not apply|\n\s+at /)
  }, 300_000)
})

describe('a generated workspace, as a new user runs it', () => {
  let root = ''
  let cleanup = () => {}
  beforeAll(async () => {
    ;({ root, cleanup } = await makeExampleWorkspace())
    buildWorkspace(root)
  }, 120_000)
  afterAll(() => cleanup())

  it('a port in use in a generated server: one line naming AIRMCP_PORT, no stack trace', async () => {
    const { port, server } = await holdPort()
    try {
      const result = await runNode(['dist/index.js'], join(root, 'servers/search'), { AIRMCP_PORT: String(port) })
      expect(result.code).toBe(1)
      expect(result.stderr.trim().split('\n'), result.stderr).toEqual([
        `Server "search-server": port ${port} on 127.0.0.1 is already in use. Try this: stop the other process, or choose another port (AIRMCP_PORT=...).`,
      ])
    } finally {
      server.close()
    }
  })

  it("a port in use in the gateway: one line naming AIRMCP_GATEWAY_PORT, and its stdio child does not outlive it", async () => {
    const { port, server } = await holdPort()
    try {
      const result = await runNode(['dist/index.js'], join(root, 'gateway'), { AIRMCP_GATEWAY_PORT: String(port) })
      expect(result.code).toBe(1)
      const lines = result.stderr.trim().split('\n').filter((line) => !line.startsWith('[analytics-1]'))
      expect(lines, result.stderr).toEqual([
        `Gateway "demo-gateway": port ${port} on 127.0.0.1 is already in use. Try this: stop the other process, or choose another port (AIRMCP_GATEWAY_PORT=...).`,
      ])
      expect(result.stderr).not.toMatch(/\n\s+at |Node\.js v/)
      expect(processesIn(root)).toEqual([])
    } finally {
      server.close()
    }
  })

  it('airmcp status with no gateway running: a clear error naming the URL and how to start one', async () => {
    const { port, server } = await holdPort()
    server.close() // a port nobody listens on
    await once(server, 'close')
    const result = await runCli(['status'], { cwd: root, env: { AIRMCP_GATEWAY_PORT: String(port) } })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(new RegExp(`No gateway answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`))
    expect(result.stderr).toMatch(/Try this: start the workspace: airmcp dev \(or airmcp start\), or pass/)
  })

  it("add server's Next: steps rebuild the gateway too", async () => {
    const added = await runCli(['add', 'server', 'docs', '--transport', 'sse'], { cwd: root })
    expect(added.code, added.stderr).toBe(0)
    expect(added.stderr).toMatch(/Next: npm install && npm run build {3}\(builds servers\/docs and the gateway that registers it/)
  })

  it("the README's Grow it: add server notes, add tool notes create, build, and the server's own test passes", async () => {
    expect((await runCli(['add', 'server', 'notes', '--transport', 'http'], { cwd: root })).code).toBe(0)
    const tool = await runCli(['add', 'tool', 'notes', 'create', '--param', 'title:string'], { cwd: root })
    expect(tool.code, tool.stderr).toBe(0)
    buildWorkspace(root)
    const vitest = await runNode([join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run'], join(root, 'servers/notes'), { NO_COLOR: '1' })
    expect(vitest.code, `${vitest.stdout}\n${vitest.stderr}`).toBe(0)
    expect(vitest.stdout).toMatch(/Tests\s+2 passed/)
  })
})

describe('the gateway and the bridge, as a client sees them', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    await closeClients()
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  async function gatewayOverAServer() {
    const server = defineServer({
      name: 'files',
      version: '1.0.0',
      transport: { type: 'http', port: 0 },
      handleSignals: false,
      tools: [defineTool('ok', { handler: () => 'ok' })],
      resources: [
        defineResource('file:///{path}', {
          name: 'file',
          handler: async (uri) => {
            throw new Error(`no such file ${uri}`)
          },
        }),
      ],
    })
    await server.start()
    const gateway = new Gateway({ name: 'g', port: 0, handleSignals: false })
    gateway.register({ id: 'files-1', name: 'files', connection: { type: 'http', url: server.url! } })
    await gateway.start()
    cleanups.push(() => server.stop(), () => gateway.stop())
    return gateway
  }

  it('a failed resource read through the gateway carries one "MCP error -32603:" prefix, not two', async () => {
    const gateway = await gatewayOverAServer()
    const client = await connectClient('http', gateway.url!)
    const error = await client.readResource({ uri: 'file:///nope.txt' }).catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(/^MCP error -32603: Reading file:\/\/\/nope\.txt failed: no such file/)
    expect((error as Error).message.match(/MCP error/g)).toHaveLength(1)
  })

  it('a POST to the bare URL points to /mcp', async () => {
    const gateway = await gatewayOverAServer()
    const response = await fetch(new URL('/', gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    })
    expect(response.status).toBe(404)
    expect((await response.json()).error.message).toBe('Nothing at POST /. Try this: the MCP endpoint is POST /mcp.')
  })

  it('the bridge exits quietly when its client closes stdin', async () => {
    const gateway = await gatewayOverAServer()
    const bridge = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'bridge', gateway.url!], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stderr = ''
    bridge.stderr.on('data', (d) => (stderr += d))
    const answered = new Promise<void>((resolve) => bridge.stdout.on('data', (d) => String(d).includes('"id":1') && resolve()))
    const initialize = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } }
    bridge.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: initialize })}\n`)
    await answered
    bridge.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`)
    bridge.stdin.end()
    const [code] = await once(bridge, 'exit')
    expect(code).toBe(0)
    expect(stderr).toBe('')
  })
})

describe('airmcp new from an unpublished install (a packed tarball)', () => {
  it('links its own package instead of a ^version the registry lacks', async () => {
    // A registry that knows no package: what npmjs.org answers for airmcp until it is published.
    const registry = createHttpServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}'))
    registry.listen(0, '127.0.0.1')
    await once(registry, 'listening')
    const dir = mkdtempSync(join(tmpdir(), 'airmcp-installed-'))
    try {
      // The CLI as npm installs it: a folder inside node_modules (run without resolving the link).
      mkdirSync(join(dir, 'global/node_modules'), { recursive: true })
      symlinkSync(ROOT, join(dir, 'global/node_modules/airmcp'))
      const result = await runNode(
        ['--preserve-symlinks', '--preserve-symlinks-main', join(dir, 'global/node_modules/airmcp/bin/run.js'), 'new', 'app', '--yes', '--no-git', '--no-install'],
        dir,
        { npm_config_registry: `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`, NO_COLOR: '1' },
      )
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toMatch(/airmcp@\^0\.1\.0 is not on the registry .* Use --runtime to choose\./)
      const pkg = JSON.parse(readFileSync(join(dir, 'app/package.json'), 'utf8'))
      expect(pkg.devDependencies.airmcp).toBe(`file:${join(dir, 'global/node_modules/airmcp')}`)
    } finally {
      registry.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an install that fails names --runtime <path|tarball> as the way out', async () => {
    const registry = createHttpServer((_req, res) => res.writeHead(404).end())
    registry.listen(0, '127.0.0.1')
    await once(registry, 'listening')
    const dir = mkdtempSync(join(tmpdir(), 'airmcp-e404-'))
    try {
      const result = await runCli(['new', 'app', '--yes', '--no-git', '--runtime', '^0.1.0'], {
        cwd: dir,
        env: { npm_config_registry: `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`, npm_config_fetch_retries: '0' },
      })
      expect(result.code).not.toBe(0)
      expect(result.stderr).toMatch(/The workspace asks for airmcp "\^0\.1\.0"/)
      expect(result.stderr).toMatch(/--runtime <path\|tarball>/)
    } finally {
      registry.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
