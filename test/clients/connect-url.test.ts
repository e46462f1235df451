// `airmcp connect <client> --url`: a remote server's entry, for clients that log in to it themselves (OAuth).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'

const URL = 'https://mcp.example.com/mcp'
const made: string[] = []

function sandbox() {
  const home = mkdtempSync(join(tmpdir(), 'airmcp-home-'))
  const cwd = mkdtempSync(join(tmpdir(), 'airmcp-project-'))
  made.push(home, cwd)
  const env = { HOME: home, APPDATA: join(home, 'AppData'), XDG_CONFIG_HOME: join(home, 'xdg'), CODEX_HOME: join(home, 'codex-home') }
  return { home, cwd, env }
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'))
/** One output line: oclif wraps long messages. */
const flat = (text: string) => text.replace(/\s*\n\s*›?\s*/g, ' ')

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

describe('airmcp connect --url', () => {
  const cases: { client: string; args?: string[]; file: (s: ReturnType<typeof sandbox>) => string; read: (path: string) => unknown; expected: unknown; login: RegExp }[] = [
    {
      client: 'claude-code',
      file: ({ cwd }) => join(cwd, '.mcp.json'),
      read: (path) => json(path).mcpServers.platform,
      expected: { type: 'http', url: URL },
      login: /Run \/mcp in Claude Code and pick "platform" to log in/,
    },
    {
      client: 'vscode',
      file: ({ cwd }) => join(cwd, '.vscode/mcp.json'),
      read: (path) => json(path).servers.platform,
      expected: { type: 'http', url: URL },
      login: /VS Code asks you to sign in when it starts "platform"/,
    },
    {
      client: 'cursor',
      file: ({ home }) => join(home, '.cursor/mcp.json'),
      read: (path) => json(path).mcpServers.platform,
      expected: { url: URL },
      login: /press Login next to "platform"/,
    },
    {
      client: 'windsurf',
      file: ({ home }) => join(home, '.codeium/windsurf/mcp_config.json'),
      read: (path) => json(path).mcpServers.platform,
      expected: { serverUrl: URL },
      login: /Windsurf logs in to the server \(OAuth\) when it first connects/,
    },
    {
      client: 'codex',
      file: ({ env }) => join(env.CODEX_HOME, 'config.toml'),
      read: (path) => readFileSync(path, 'utf8'),
      expected: `[mcp_servers.platform]\nurl = "${URL}"\n`,
      login: /codex mcp login platform/,
    },
    {
      client: 'gemini',
      file: ({ home }) => join(home, '.gemini/settings.json'),
      read: (path) => json(path).mcpServers.platform,
      expected: { httpUrl: URL },
      login: /Run \/mcp auth platform in Gemini CLI/,
    },
  ]

  it.each(cases)("writes $client's remote HTTP entry, says how to log in, and changes nothing when run again", async ({ client, file, read, expected, login }) => {
    const box = sandbox()
    const first = await runCli(['connect', client, '--url', URL, '--name', 'platform'], { cwd: box.cwd, env: box.env })
    expect(first.code, first.stderr).toBe(0)
    expect(read(file(box))).toEqual(expected)
    expect(flat(first.stderr)).toContain(`Created ${file(box)}`)
    expect(flat(first.stderr)).toMatch(login)
    const bytes = readFileSync(file(box), 'utf8')
    const again = await runCli(['connect', client, '--url', URL, '--name', 'platform', '--json'], { cwd: box.cwd, env: box.env })
    expect(again.code, again.stderr).toBe(0)
    // The entry as an object (codex's is TOML text in the file).
    const entry = typeof expected === 'string' ? { url: URL } : expected
    expect(JSON.parse(again.stdout)).toMatchObject({ client, action: 'unchanged', name: 'platform', path: file(box), entry })
    expect(readFileSync(file(box), 'utf8')).toBe(bytes)
  })

  it("keeps the config's other servers, and replaces a local entry only with --force", async () => {
    const box = sandbox()
    const path = join(box.cwd, '.mcp.json')
    writeFileSync(path, '{\n  // ours\n  "mcpServers": {\n    "other": { "command": "x" },\n    "platform": { "type": "http", "url": "http://127.0.0.1:4000/mcp" }\n  }\n}\n')
    const refused = await runCli(['connect', 'claude-code', '--url', URL, '--name', 'platform'], { cwd: box.cwd, env: box.env })
    expect(refused.code).not.toBe(0)
    expect(flat(refused.stderr)).toMatch(/already has a different "platform" entry.*Try this: use --force/)
    const forced = await runCli(['connect', 'claude-code', '--url', URL, '--name', 'platform', '--force'], { cwd: box.cwd, env: box.env })
    expect(forced.code, forced.stderr).toBe(0)
    const text = readFileSync(path, 'utf8')
    expect(text).toContain('// ours')
    expect(text).toContain('"other": { "command": "x" }')
    expect(text.replace(/\s+/g, ' ')).toContain(`"platform": { "type": "http", "url": "${URL}" }`)
  })

  it('gives Claude Desktop (commands only) `airmcp bridge <url>`, which logs in itself', async () => {
    const box = sandbox()
    const desktop = await runCli(['connect', 'claude-desktop', '--url', URL, '--name', 'platform', '--json'], { cwd: box.cwd, env: box.env })
    expect(desktop.code, desktop.stderr).toBe(0)
    const path = join(box.env.XDG_CONFIG_HOME, 'Claude/claude_desktop_config.json')
    const entry = json(path).mcpServers.platform
    expect(JSON.parse(desktop.stdout)).toMatchObject({ client: 'claude-desktop', path, name: 'platform', action: 'created', entry })
    // Absolute paths: a desktop app does not inherit the shell's PATH.
    expect(entry.command).toBe(process.execPath)
    expect(entry.args).toEqual([expect.stringMatching(/\/bin\/run\.js$/), 'bridge', URL])
    const again = await runCli(['connect', 'claude-desktop', '--url', URL, '--name', 'platform'], { cwd: box.cwd, env: box.env })
    expect(flat(again.stderr)).toMatch(/already connected as "platform"/)
    const written = await runCli(['connect', 'claude-desktop', '--url', `${URL}2`, '--name', 'other'], { cwd: box.cwd, env: box.env })
    expect(flat(written.stderr)).toMatch(/opens your browser to log in.*airmcp bridge --logout <url>/)
  })

  it('refuses URLs that are not https', async () => {
    const box = sandbox()
    const plain = await runCli(['connect', 'cursor', '--url', 'http://mcp.example.com/mcp'], { cwd: box.cwd, env: box.env })
    expect(flat(plain.stderr)).toMatch(/"http:\/\/mcp.example.com\/mcp" is not an https:\/\/ URL\. Code: INVALID_URL Try this: use the server's https address/)
    const withPassword = await runCli(['connect', 'cursor', '--url', 'https://me:pw@mcp.example.com/mcp'], { cwd: box.cwd, env: box.env })
    expect(flat(withPassword.stderr)).toMatch(/carries a user name or password.*INVALID_URL/)
    const stdio = await runCli(['connect', 'cursor', '--url', URL, '--transport', 'stdio'], { cwd: box.cwd, env: box.env })
    expect(flat(stdio.stderr)).toMatch(/--url and --transport stdio do not go together.*INVALID_FLAGS/)
    const withPort = await runCli(['connect', 'cursor', '--url', URL, '--port', '4000'], { cwd: box.cwd, env: box.env })
    expect(withPort.code).not.toBe(0)
    expect(flat(withPort.stderr)).toMatch(/--port=4000 cannot also be provided when using --url\..*Code: BAD_USAGE/)
    // A local gateway's URL is fine over http.
    const local = await runCli(['connect', 'cursor', '--url', 'http://localhost:4000/mcp', '--name', 'local'], { cwd: box.cwd, env: box.env })
    expect(local.code, local.stderr).toBe(0)
    expect(json(join(box.home, '.cursor/mcp.json')).mcpServers).toEqual({ local: { url: 'http://localhost:4000/mcp' } })
    // Nothing else was written: nothing in the project.
    expect(readdirSync(box.cwd)).toEqual([])
  })
})
