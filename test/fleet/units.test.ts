import { describe, expect, it } from 'vitest'
import { CallStats } from '../../src/gateway/upstreams/call-stats.js'
import { parsePortMap, remapConnection } from '../../src/gateway/upstreams/port-map.js'
import { PrefixedOutput, wantsColour } from '../../src/fleet/output.js'
import { statusTable } from '../../src/fleet/status.js'
import { codeBesideRegistrations, sourceRegistrations } from '../../src/fleet/gateway-link.js'
import { changedPackage } from '../../src/fleet/watch.js'
import { readGatewayFile } from '../../src/workspace/gateway-file.js'
import { loadMorph } from '../../src/workspace/literals.js'

describe('CallStats', () => {
  it('counts calls and errors, and reports the median within 5%', () => {
    const stats = new CallStats()
    expect(stats.snapshot()).toEqual({ calls: 0, errors: 0, medianMs: undefined })
    for (let ms = 1; ms <= 1001; ms++) stats.record(ms, ms % 10 === 0)
    const { calls, errors, medianMs } = stats.snapshot()
    expect(calls).toBe(1001)
    expect(errors).toBe(100)
    expect(medianMs!).toBeGreaterThanOrEqual(501)
    expect(medianMs!).toBeLessThanOrEqual(501 * 1.05)
  })
})

describe('the gateway follows servers a supervisor moved (AIRMCP_GATEWAY_PORT_MAP)', () => {
  const map = parsePortMap('3510=41001, 3511=41002,junk,=5')
  it('parses pairs and skips junk', () => {
    expect([...map]).toEqual([
      [3510, 41001],
      [3511, 41002],
    ])
  })
  it('moves loopback URLs on a mapped port, keeping the path; leaves other hosts and stdio alone', () => {
    expect(remapConnection({ type: 'sse', url: 'http://localhost:3510' }, map)).toEqual({ type: 'sse', url: 'http://localhost:41001/' })
    expect(remapConnection({ type: 'http', url: 'http://127.0.0.1:3511/mcp' }, map)).toEqual({ type: 'http', url: 'http://127.0.0.1:41002/mcp' })
    expect(remapConnection({ type: 'sse', url: 'http://search.internal:3510' }, map)).toEqual({ type: 'sse', url: 'http://search.internal:3510' })
    expect(remapConnection({ type: 'stdio', command: 'node' }, map)).toEqual({ type: 'stdio', command: 'node' })
  })
})

describe('prefixed output', () => {
  it('colours only on a terminal, never with NO_COLOR, as FORCE_COLOR says', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream
    const pipe = { isTTY: false } as NodeJS.WriteStream
    expect(wantsColour(tty, {})).toBe(true)
    expect(wantsColour(pipe, {})).toBe(false)
    expect(wantsColour(tty, { NO_COLOR: '1' })).toBe(false)
    expect(wantsColour(tty, { FORCE_COLOR: '0' })).toBe(false)
    expect(wantsColour(pipe, { FORCE_COLOR: '1' })).toBe(true)
  })

  it('prefixes each line with its name, one colour per name', () => {
    const written: string[] = []
    const write = process.stdout.write
    process.stdout.write = ((chunk: string) => written.push(chunk)) as never
    try {
      const coloured = new PrefixedOutput(true)
      coloured.line('search', 'one')
      coloured.line('files', 'two')
      coloured.line('search', 'three')
      new PrefixedOutput(false).line('gateway', 'plain')
    } finally {
      process.stdout.write = write
    }
    expect(written).toEqual([
      '\u001B[36msearch  |\u001B[0m one\n',
      '\u001B[35mfiles   |\u001B[0m two\n',
      '\u001B[36msearch  |\u001B[0m three\n',
      'gateway | plain\n',
    ])
  })
})

describe('status table', () => {
  it('one row per registration with its figures', () => {
    const lines = statusTable({
      gateway: 'http://127.0.0.1:4000',
      status: 'degraded',
      servers: [
        { id: 'search-1', name: 'search', transport: 'sse', status: 'connected', calls: 12, errors: 1, medianMs: 3.2 },
        { id: 'files-1', name: 'files', transport: 'sse', status: 'error', lastError: 'connect failed: ECONNREFUSED', calls: 0, errors: 0 },
      ],
      quarantined: [],
    })
    expect(lines).toEqual([
      'Gateway http://127.0.0.1:4000: degraded, 2 servers',
      'SERVER  ID        TRANSPORT  STATUS     CALLS  ERRORS  MEDIAN  LAST ERROR',
      'search  search-1  sse        connected  12     1       3.2 ms',
      'files   files-1   sse        error      0      0       -       connect failed: ECONNREFUSED',
    ])
  })

  it('names what airmcp.lock holds back, after the table', () => {
    const lines = statusTable({
      gateway: 'http://127.0.0.1:4000',
      status: 'ok',
      servers: [{ id: 'search-1', name: 'search', transport: 'sse', status: 'connected', calls: 0, errors: 0 }],
      quarantined: [{ server: 'search', kind: 'tool', name: 'search', reason: 'description changed since airmcp.lock' }],
    })
    expect(lines.slice(-3)).toEqual([
      '',
      'Held back by airmcp.lock (1):',
      '  search tool "search": description changed since airmcp.lock',
    ])
  })
})

describe("what dev reads from the gateway's source", () => {
  const gatewayFile = async (body: string) => {
    const morph = await loadMorph()
    const project = new morph.Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true })
    return readGatewayFile(morph, project, `import { Gateway } from 'airmcp/gateway'\nconst gateway = new Gateway({ name: 'g' })\n${body}\nawait gateway.start()\n`)
  }
  const search = "gateway.register({ id: 'search-1', name: 'search', transport: 'sse', connection: { type: 'sse', url: 'http://localhost:3510' }, tools: { prefix: 's_' } })"

  it('literal top-level registrations are the set, as register() receives them', async () => {
    expect(sourceRegistrations(await gatewayFile(search))).toEqual([
      { id: 'search-1', name: 'search', transport: 'sse', connection: { type: 'sse', url: 'http://localhost:3510' }, tools: { prefix: 's_' } },
    ])
  })

  it('a computed value, a call in an if or a loop, or a non-literal argument: the source alone cannot tell', async () => {
    for (const body of [
      search.replace("'http://localhost:3510'", 'process.env.SEARCH_URL'),
      `if (process.env.SEARCH) ${search}`,
      `for (const n of [1, 2]) ${search}`,
      `const options = { id: 'a-1', name: 'a', connection: { type: 'stdio', command: 'a' } } as const\n${search}\ngateway.register(options)`,
    ]) {
      expect(sourceRegistrations(await gatewayFile(body)), body).toBeUndefined()
    }
  })

  it("the code beside the registrations ignores added, removed or edited registrations, and sees everything else", async () => {
    const base = codeBesideRegistrations(await gatewayFile(search))
    expect(codeBesideRegistrations(await gatewayFile(`${search}\n\n${search.replaceAll('search', 'files')}`))).toBe(base)
    expect(codeBesideRegistrations(await gatewayFile(''))).toBe(base)
    expect(codeBesideRegistrations(await gatewayFile(search.replace('s_', 'x_')))).toBe(base)
    expect(codeBesideRegistrations(await gatewayFile(`${search}\nconsole.log('hi')`))).not.toBe(base)
  })
})

describe('which saves the dev watcher counts', () => {
  const root = '/w'
  it("a package's src/, package.json and tsconfig.json, and a server folder itself; not dist, node_modules, tests or editors' temp files", () => {
    expect(changedPackage(root, '/w/servers/search/src/index.ts')).toEqual({ server: 'search' })
    expect(changedPackage(root, '/w/servers/search/src/lib/deep.ts')).toEqual({ server: 'search' })
    expect(changedPackage(root, '/w/servers/search/package.json')).toEqual({ server: 'search' })
    expect(changedPackage(root, '/w/servers/notes')).toEqual({ server: 'notes' })
    expect(changedPackage(root, '/w/gateway/src/index.ts')).toEqual({ gateway: true })
    expect(changedPackage(root, '/w/gateway/tsconfig.json')).toEqual({ gateway: true })
    for (const path of [
      '/w/servers/search/dist/index.js',
      '/w/servers/search/node_modules/x/index.ts',
      '/w/servers/search/test/search.test.ts',
      '/w/servers/search/src/.index.ts.swp',
      '/w/servers/search/src/index.ts~',
      '/w/servers/search/src/4913',
      '/w/servers/search/src/index.ts___jb_tmp___',
      '/w/servers/search/src/.#index.ts',
      '/w/gateway/src/index.ts.tmp',
      '/w/gateway/dist/index.js',
      '/w/servers',
    ]) {
      expect(changedPackage(root, path), path).toBeUndefined()
    }
  })
})
