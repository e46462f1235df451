import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/processes.js'
import { makeWorkspace } from '../helpers/workspace.js'

// Each read runs in a fresh Node process, as each CLI run does, with its own cache folder.
const cacheHome = mkdtempSync(join(tmpdir(), 'airmcp-parse-cache-'))
const dirs = [cacheHome]
const env = (home = cacheHome) => ({ ...process.env, XDG_CACHE_HOME: home, AIRMCP_LOG_FORMAT: 'text' })

const gateway = (port: number) =>
  `import { Gateway } from 'airmcp/gateway'\nconst gateway = new Gateway({ name: 'g', port: ${port} })\n` +
  "gateway.register({ id: 'a-1', name: 'a', transport: 'sse', connection: { type: 'sse', url: 'http://localhost:3510/sse' } })\nawait gateway.start()\n"

interface Read {
  typescriptLoaded: boolean
  servers: { name: string; transport: unknown; ports: unknown; registration: unknown }[]
  gatewayPort?: number
  problem?: string
}

/** The workspace model as a new process reads it, and whether that process loaded TypeScript to do so. */
function read(root: string, home = cacheHome): Read {
  const script = `import { createRequire } from 'node:module'
const { readWorkspace } = await import(${JSON.stringify(join(ROOT, 'dist/workspace/index.js'))})
const model = await readWorkspace(${JSON.stringify(root)})
console.log(JSON.stringify({
  typescriptLoaded: Object.keys(createRequire(import.meta.url).cache).some((file) => file.endsWith('typescript.js')),
  servers: model.servers.map(({ name, transport, ports, registration }) => ({ name, transport, ports, registration })),
  gatewayPort: model.gateway?.port,
  problem: model.gatewayProblem?.message,
}))`
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: env(home), encoding: 'utf8' }))
}

const cli = (args: string[], cwd: string) => execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], { cwd, env: env(), encoding: 'utf8', stdio: 'pipe' })

describe('the workspace model keeps its parses between runs', () => {
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it('reads an unchanged workspace without TypeScript, and reparses exactly what changed', () => {
    const root = makeWorkspace({ a: "{ type: 'sse', port: 3510 }", b: "{ type: 'stdio' }" }, gateway(4100))
    dirs.push(root)
    const first = read(root)
    expect(first.typescriptLoaded).toBe(true)
    expect(first.gatewayPort).toBe(4100)
    expect(first.servers[0]).toMatchObject({ name: 'a', transport: { type: 'sse', port: 3510 }, registration: { status: 'registered', ids: ['a-1'] } })

    const again = read(root)
    expect(again).toEqual({ ...first, typescriptLoaded: false })

    // A source edited by hand, and a gateway that no longer parses: both read anew, the error as the parse gives it.
    writeFileSync(join(root, 'servers/a/src/index.ts'), "import { defineServer } from 'airmcp'\ndefineServer({ name: 'a', version: '1.0.0', transport: { type: 'http', port: 3599 }, tools: [] }).start()\n")
    writeFileSync(join(root, 'gateway/src/index.ts'), 'const gateway = new Gateway({ ;')
    const edited = read(root)
    expect(edited.servers[0]).toMatchObject({ transport: { type: 'http', port: 3599 }, ports: { source: 3599 } })
    expect(edited.problem).toMatch(/does not parse \(line 1/)
    const editedAgain = read(root)
    expect(editedAgain).toEqual({ ...edited, typescriptLoaded: false })
    // A cache folder of its own (as on another machine) parses everything and agrees.
    const freshHome = mkdtempSync(join(tmpdir(), 'airmcp-parse-cache-'))
    dirs.push(freshHome)
    expect(read(root, freshHome)).toEqual({ ...edited, typescriptLoaded: true })
  })

  it('a corrupt cache file only means parsing again', () => {
    const root = makeWorkspace({ a: "{ type: 'sse', port: 3520 }" }, gateway(4200))
    dirs.push(root)
    const first = read(root)
    const folder = join(cacheHome, 'airmcp/workspace-model')
    for (const file of readdirSync(folder)) writeFileSync(join(folder, file), '{ not json')
    expect(read(root)).toEqual({ ...first, typescriptLoaded: true })
    expect(read(root).typescriptLoaded).toBe(false)
  })

  it('what add server remembers of the source it wrote is what parsing that source gives', () => {
    const root = makeWorkspace({ a: "{ type: 'sse', port: 3510 }" }, gateway(4300))
    dirs.push(root)
    cli(['add', 'server', 'web', '--transport', 'http', '--no-sync'], root)
    cli(['add', 'server', 'kid', '--transport', 'stdio', '--no-sync'], root)
    cli(['add', 'server', 'feed', '--no-sync'], root)
    const remembered = read(root)
    expect(remembered.typescriptLoaded).toBe(false)
    const freshHome = mkdtempSync(join(tmpdir(), 'airmcp-parse-cache-'))
    dirs.push(freshHome)
    const parsed = read(root, freshHome)
    expect(parsed.typescriptLoaded).toBe(true)
    expect(remembered.servers).toEqual(parsed.servers)
    expect(parsed.servers.map((s) => [s.name, s.transport])).toEqual([
      ['a', { type: 'sse', port: 3510 }],
      ['feed', { type: 'sse', port: 3512 }],
      ['kid', { type: 'stdio' }],
      ['web', { type: 'http', port: 3511 }],
    ])
  })
})
