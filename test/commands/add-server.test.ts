import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { MACHINE_CLIENT, startAuthorizationServer } from '../../fixtures/auth/authorization-server.js'
import { runCli } from '../helpers/cli.js'
import { hashTree } from '../helpers/hash.js'
import { killAll, ROOT, startListening } from '../helpers/processes.js'
import { makeWorkspace } from '../helpers/workspace.js'

const spec = (name: string) => join(ROOT, 'fixtures/specs', name)
const flat = (text: string) => text.replace(/\s*\n\s*›?\s*/g, ' ')

async function workspace() {
  const cwd = mkdtempSync(join(tmpdir(), 'airmcp-add-'))
  const created = await runCli(['new', 'ws', '--yes', '--no-install', '--no-git'], { cwd })
  expect(created.code, created.stderr).toBe(0)
  return join(cwd, 'ws')
}

describe('airmcp add server', () => {
  it('generates a server from a YAML spec that compiles, and registers it', async () => {
    const dir = await workspace()
    const result = await runCli(['add', 'server', 'crm', '--spec', spec('crm.yaml'), '--json'], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ server: 'crm', transport: 'http', port: 3600, tools: ['find_customer', 'create_deal', 'ping_crm'] })
    const source = readFileSync(join(dir, 'servers/crm/src/index.ts'), 'utf8')
    expect(source).toContain("description: 'Find a customer by name (it\\'s fuzzy)'")
    expect(source).toContain("use: [cachePlugin({ ttlMs: 10000, exclude: ['create_deal'] }), timeoutPlugin(5000)]")
    expect(readFileSync(join(dir, 'gateway/src/index.ts'), 'utf8')).toContain("url: 'http://localhost:3600/mcp'")
    // Compile it against this package, as the workspace would after npm install.
    execFileSync('mkdir', ['-p', join(dir, 'node_modules/@types')])
    symlinkSync(ROOT, join(dir, 'node_modules/airmcp'))
    symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'))
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'servers/crm', '--noEmit'], { cwd: dir })
  })

  it('picks the first free port from 3510 and repeats nothing on a second sync', async () => {
    const dir = await workspace()
    for (const name of ['one', 'two']) expect((await runCli(['add', 'server', name], { cwd: dir })).code).toBe(0)
    expect(JSON.parse(readFileSync(join(dir, 'servers/two/package.json'), 'utf8')).airmcp).toEqual({ type: 'sse', port: 3511 })
    const sync = await runCli(['gateway', 'sync'], { cwd: dir })
    expect(sync.stderr).toContain('already in sync')
    // The table goes to stdout, so `airmcp list | grep one` works.
    const table = await runCli(['list'], { cwd: dir })
    expect(table.stdout).toMatch(/^one +sse +3510 +registered$/m)
    const list = await runCli(['list', '--json'], { cwd: dir })
    expect(JSON.parse(list.stdout).servers).toEqual([
      { name: 'one', transport: 'sse', port: 3510, registered: true, status: 'registered' },
      { name: 'two', transport: 'sse', port: 3511, registered: true, status: 'registered' },
    ])
  })

  const bad: [string, string[], RegExp, ((dir: string) => void)?][] = [
    ['an unknown param type', ['--spec', spec('bad-type.json')], /bad-type\.json" is invalid: tools\[1\]\.params\.limit\.type: must be one of string/],
    ['a duplicate tool', ['--spec', spec('duplicate.json')], /tools\[1\]\.name: duplicate tool name "a"/],
    ['an invalid tool name', ['--spec', spec('bad-name.json')], /tools\[0\]\.name: must be 1-64 letters/],
    ['a port used by another server', ['--port', '3510'], /Port 3510 is already used by server "taken"/],
    ['--auth on a stdio server', ['--transport', 'stdio', '--auth'], /--auth protects an HTTP endpoint, and a stdio server has none/],
    ['--auth with a preset', ['--preset', 'search', '--auth'], /--auth cannot change preset "search"/],
    ['a server that exists', [], /Server "taken" already exists/],
    ['an invalid server name', [], /Invalid server name "Bad_Name"/],
    [
      'a port only the source of another server uses (edited by hand)',
      ['--port', '3600'],
      /Port 3600 is already used by server "taken" \(servers\/taken\/src\/index\.ts\)/,
      (dir) => {
        const file = join(dir, 'servers/taken/src/index.ts')
        writeFileSync(file, readFileSync(file, 'utf8').replace('port: 3510', 'port: 3600'))
      },
    ],
  ]
  // One workspace with server "taken", copied for each case: every case starts from the same files.
  let template: Promise<string> | undefined
  const withTaken = async () => {
    template ??= (async () => {
      const dir = await workspace()
      expect((await runCli(['add', 'server', 'taken'], { cwd: dir })).code).toBe(0)
      return dir
    })()
    const copy = join(mkdtempSync(join(tmpdir(), 'airmcp-add-')), 'ws')
    cpSync(await template, copy, { recursive: true })
    return copy
  }
  for (const [what, flags, message, edit] of bad) {
    it(`refuses ${what}, writing nothing`, async () => {
      const dir = await withTaken()
      edit?.(dir)
      const before = hashTree(dir)
      const name = { 'a server that exists': 'taken', 'an invalid server name': 'Bad_Name' }[what] ?? 'fresh'
      const result = await runCli(['add', 'server', name, ...flags], { cwd: dir })
      expect(result.code).not.toBe(0)
      expect(flat(result.stderr)).toMatch(message)
      expect(result.stderr).toContain('Try this:')
      expect(hashTree(dir)).toBe(before)
    })
  }

  it('refuses to run outside a workspace, and a gateway without a Gateway', async () => {
    const outside = await runCli(['add', 'server', 'x'], { cwd: mkdtempSync(join(tmpdir(), 'airmcp-out-')) })
    expect(flat(outside.stderr)).toMatch(/is not inside an airmcp workspace/)
    const dir = makeWorkspace({}, "console.log('no gateway')\n")
    const before = hashTree(dir)
    const result = await runCli(['add', 'server', 'x'], { cwd: dir })
    expect(flat(result.stderr)).toMatch(/has no `const gateway = new Gateway/)
    expect(hashTree(dir)).toBe(before)
  })

  it('shows a diff and writes nothing on --dry-run', async () => {
    const dir = await workspace()
    const before = hashTree(dir)
    const result = await runCli(['add', 'server', 'notes', '--transport', 'http', '--dry-run'], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('CREATE servers/notes/src/index.ts')
    expect(result.stderr).toContain("+  connection: { type: 'http', url: 'http://localhost:3510/mcp' },")
    expect(hashTree(dir)).toBe(before)
  })

  it('--check exits 1 with the diff when the gateway is out of sync', async () => {
    const dir = await workspace()
    expect((await runCli(['add', 'server', 'notes', '--no-sync'], { cwd: dir })).code).toBe(0)
    const check = await runCli(['gateway', 'sync', '--check'], { cwd: dir })
    expect(check.code).toBe(1)
    expect(check.stderr).toContain("+  id: 'notes-1',")
  })
})

describe('airmcp add server --auth', () => {
  const dirs: string[] = []
  afterAll(async () => {
    await killAll()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it('scaffolds a protected resource: open without OAUTH_* (its own test passes), tokens required and ctx.auth set with them', { timeout: 180_000 }, async () => {
    const dir = await workspace()
    dirs.push(join(dir, '..'))
    const added = await runCli(['add', 'server', 'crm', '--transport', 'http', '--auth', '--tool', 'find'], { cwd: dir })
    expect(added.code, added.stderr).toBe(0)
    const source = readFileSync(join(dir, 'servers/crm/src/index.ts'), 'utf8')
    expect(source).toContain('{ issuer: process.env.OAUTH_ISSUER!, audience: process.env.OAUTH_AUDIENCE! }')
    expect(source).toContain("handler: async ({ input }, ctx) => {")
    // Built against this package, as the workspace would be after npm install.
    execFileSync('mkdir', ['-p', join(dir, 'node_modules/@types')])
    for (const name of ['airmcp', 'vitest']) symlinkSync(name === 'airmcp' ? ROOT : join(ROOT, 'node_modules', name), join(dir, 'node_modules', name))
    symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'))
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'servers/crm'], { cwd: dir })

    // The generated test starts it without OAUTH_ISSUER/OAUTH_AUDIENCE: auth is off and every tool answers.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OAUTH_')))
    const tests = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run'], { cwd: join(dir, 'servers/crm'), env: { ...env, NO_COLOR: '1', CI: '1' }, encoding: 'utf8' })
    expect(tests.status, `${tests.stdout}\n${tests.stderr}`).toBe(0)
    expect(tests.stdout).toMatch(/Tests\s+2 passed/)

    // With them, a real authorization server's token is needed, and the handler sees its caller.
    const as = await startAuthorizationServer((resource) => (/^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(resource) ? 'api://crm' : undefined))
    try {
      const server = await startListening(['dist/index.js'], { cwd: join(dir, 'servers/crm'), env: { OAUTH_ISSUER: as.issuer, OAUTH_AUDIENCE: 'api://crm', AIRMCP_PORT: '0' } })
      const refused = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toContain('resource_metadata=')
      const authProvider = new ClientCredentialsProvider({ clientId: MACHINE_CLIENT.id, clientSecret: MACHINE_CLIENT.secret, scope: 'mcp:tools', expectedIssuer: as.issuer })
      const client = new Client({ name: 'add-server-auth', version: '1' })
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider }))
      try {
        const result = (await client.callTool({ name: 'find', arguments: { input: 'x' } })) as { content: { text: string }[] }
        expect(JSON.parse(result.content[0].text)).toEqual({ todo: 'implement find', input: 'x', caller: MACHINE_CLIENT.id })
      } finally {
        await client.close()
      }
    } finally {
      await as.close()
    }
  })
})
