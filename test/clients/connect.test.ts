import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Gateway } from 'airmcp/gateway'
import { runCli } from '../helpers/cli.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, ROOT, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { makeWorkspace } from '../helpers/workspace.js'

function sandbox() {
  const home = mkdtempSync(join(tmpdir(), 'airmcp-home-'))
  const env = {
    HOME: home,
    APPDATA: join(home, 'AppData'),
    XDG_CONFIG_HOME: join(home, 'xdg'),
    CODEX_HOME: join(home, 'codex-home'),
  }
  return { home, env, desktopConfig: join(env.XDG_CONFIG_HOME, 'Claude/claude_desktop_config.json') }
}

describe('airmcp connect / disconnect', () => {
  afterAll(async () => {
    await closeClients()
    await killAll()
  })

  it('writes a Claude Desktop bridge entry with absolute paths, idempotently, with backups, and disconnects it', async () => {
    const { env, desktopConfig } = sandbox()
    const cwd = makeWorkspace({})
    const first = await runCli(['connect', 'claude-desktop', '--transport', 'http', '--port', '4000', '--json'], { cwd, env })
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ action: 'created', name: 'ws', path: desktopConfig })
    const config = JSON.parse(readFileSync(desktopConfig, 'utf8'))
    expect(config.mcpServers.ws).toEqual({
      command: process.execPath,
      args: [join(ROOT, 'bin/run.js'), 'bridge', 'http://127.0.0.1:4000/mcp'],
    })
    expect(first.stdout + first.stderr).not.toContain('Backup')

    const bytes = readFileSync(desktopConfig, 'utf8')
    const again = await runCli(['connect', 'claude-desktop', '--transport', 'http', '--port', '4000'], { cwd, env })
    expect(again.stderr).toContain('already connected')
    expect(readFileSync(desktopConfig, 'utf8')).toBe(bytes)
    expect(readdirSync(join(desktopConfig, '..'))).toEqual(['claude_desktop_config.json'])

    const other = await runCli(['connect', 'claude-desktop', '--port', '4001'], { cwd, env })
    expect(other.code).not.toBe(0)
    expect(other.stderr).toMatch(/already has a different "ws" entry/)
    expect(readFileSync(desktopConfig, 'utf8')).toBe(bytes)
    const forced = await runCli(['connect', 'claude-desktop', '--port', '4001', '--force'], { cwd, env })
    expect(forced.code, forced.stderr).toBe(0)
    expect(forced.stderr).toMatch(/Restart Claude Desktop/)
    // The backup goes under ~/.airmcp/backups/, never beside the config (where it would litter a project), and the output says where.
    expect(readdirSync(join(desktopConfig, '..'))).toEqual(['claude_desktop_config.json'])
    const backup = /Backup: (.+)/.exec(forced.stderr)?.[1]?.trim()
    expect(backup?.startsWith(join(env.HOME, '.airmcp/backups/'))).toBe(true)
    expect(readFileSync(backup!, 'utf8')).toBe(bytes)

    const removed = await runCli(['disconnect', 'claude-desktop'], { cwd, env })
    expect(removed.code, removed.stderr).toBe(0)
    expect(existsSync(desktopConfig)).toBe(false)
  })

  it("uses the workspace gateway's port, and keeps project-scope backups out of the workspace", async () => {
    const { env } = sandbox()
    const cwd = makeWorkspace({}, "import { Gateway } from 'airmcp/gateway';\nconst gateway = new Gateway({ name: 'g', port: 4100 });\nawait gateway.start();\n")
    const printed = await runCli(['connect', 'cursor', '--print'], { cwd, env })
    expect(printed.code, printed.stderr).toBe(0)
    expect(JSON.parse(printed.stdout).ws.url).toBe('http://127.0.0.1:4100/mcp')
    writeFileSync(join(cwd, '.mcp.json'), '{ "mcpServers": {} }\n')
    const written = await runCli(['connect', 'claude-code', '--scope', 'project'], { cwd, env })
    expect(written.code, written.stderr).toBe(0)
    expect(JSON.parse(readFileSync(join(cwd, '.mcp.json'), 'utf8')).mcpServers.ws.url).toBe('http://127.0.0.1:4100/mcp')
    expect(readdirSync(cwd).filter((f) => f.includes('airmcp'))).toEqual([])
    expect(written.stderr).toContain(`Backup: ${join(env.HOME, '.airmcp/backups/')}`)
  })

  it('--transport stdio launches the built workspace gateway in stdio mode, and refuses an unbuilt one', async () => {
    const { env, home } = sandbox()
    const cwd = makeWorkspace({})
    const unbuilt = await runCli(['connect', 'cursor', '--transport', 'stdio'], { cwd, env })
    expect(unbuilt.code).not.toBe(0)
    expect(unbuilt.stderr).toMatch(/does not exist/)
    expect(existsSync(join(home, '.cursor/mcp.json'))).toBe(false)
    mkdirSync(join(cwd, 'gateway/dist'), { recursive: true })
    writeFileSync(join(cwd, 'gateway/dist/index.js'), '')
    const built = await runCli(['connect', 'cursor', '--transport', 'stdio'], { cwd, env })
    expect(built.code, built.stderr).toBe(0)
    expect(JSON.parse(readFileSync(join(home, '.cursor/mcp.json'), 'utf8')).mcpServers.ws).toEqual({
      command: process.execPath,
      args: [join(cwd, 'gateway/dist/index.js'), '--stdio'],
    })
  })

  it('refuses a config that is not valid JSON and writes nothing', async () => {
    const { env, home } = sandbox()
    const path = join(home, '.cursor/mcp.json')
    mkdirSync(join(home, '.cursor'))
    writeFileSync(path, '{ "mcpServers": { ')
    const result = await runCli(['connect', 'cursor', '--name', 'x'], { env })
    expect(result.code).not.toBe(0)
    expect(result.stderr.replace(/\s*\n\s*›?\s*/g, ' ')).toContain(`"${path}" is not valid JSON (line 1`)
    expect(readFileSync(path, 'utf8')).toBe('{ "mcpServers": { ')
    expect(readdirSync(join(home, '.cursor'))).toEqual(['mcp.json'])
  })

  it('writes codex TOML under CODEX_HOME and lists every client\'s state', async () => {
    const { env } = sandbox()
    const result = await runCli(['connect', 'codex', '--name', 'my.platform'], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(readFileSync(join(env.CODEX_HOME, 'config.toml'), 'utf8')).toBe(
      '[mcp_servers."my.platform"]\nurl = "http://127.0.0.1:4000/mcp"\n',
    )
    const list = await runCli(['connect', '--list', '--name', 'my.platform', '--json'], { env })
    const states = JSON.parse(list.stdout).clients as { client: string; state: string }[]
    expect(states.find((c) => c.client === 'codex')!.state).toBe('connected')
    expect(states.find((c) => c.client === 'claude-desktop')!.state).toBe('no config')
  })

  it('bridges stdio to a running gateway: the command connect wrote lists and calls its tools', async () => {
    const replica = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], {
      env: { REPLICA: 'a', TRANSPORT: 'sse', AIRMCP_PORT: '0' },
    })
    const gateway = new Gateway({ name: 'bridge-test', port: 0, handleSignals: false })
    gateway.register({ id: 'r-1', name: 'r', connection: { type: 'sse', url: replica.url } })
    await gateway.start()
    try {
      const { env, desktopConfig } = sandbox()
      const written = await runCli(['connect', 'claude-desktop', '--transport', 'http', '--port', String(gateway.port), '--name', 'bridge'], { env })
      expect(written.code, written.stderr).toBe(0)
      const entry = JSON.parse(readFileSync(desktopConfig, 'utf8')).mcpServers.bridge as { command: string; args: string[] }
      const client = await connectClient('stdio', { command: entry.command, args: entry.args })
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('whoami')
      expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('a')
    } finally {
      await closeClients()
      await gateway.stop()
    }
  })
})
