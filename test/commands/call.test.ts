import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineServer, defineTool } from 'airmcp'
import { Gateway } from 'airmcp/gateway'
import { mcpEndpoint, resultText, toolArguments } from '../../src/cli/tool-call.js'
import { runCli } from '../helpers/cli.js'
import { buildWorkspace, makeExampleWorkspace, runFleet, stopFleets } from '../helpers/fleet.js'

const NO_STACK = /\n\s+at |Node\.js v/

describe('airmcp call: arguments and output (pure)', () => {
  const schema = {
    properties: {
      query: { type: 'string' },
      limit: { type: 'number' },
      page: { type: 'integer' },
      exact: { type: 'boolean' },
      tags: { type: 'array' },
      filter: { type: ['object', 'null'] },
    },
  }

  it('reads key=value as the schema types it, over the --args object', () => {
    expect(
      toolArguments('{"query":"old","extra":1}', ['query=42', 'limit=5', 'page=2', 'exact=true', 'tags=["a"]', 'filter=null', 'other=7', 'word=hello', 'eq=a=b'], schema),
    ).toEqual({ query: '42', extra: 1, limit: 5, page: 2, exact: true, tags: ['a'], filter: null, other: 7, word: 'hello', eq: 'a=b' })
    expect(toolArguments(undefined, [])).toEqual({})
  })

  it('refuses what does not fit, naming the key, the type and an example', () => {
    expect(() => toolArguments(undefined, ['limit=five'], schema)).toThrow(/limit=five: the tool wants number for "limit"/)
    expect(() => toolArguments(undefined, ['page=1.5'], schema)).toThrow(/wants integer/)
    expect(() => toolArguments(undefined, ['noequals'], schema)).toThrow(/"noequals" is not a key=value argument/)
    expect(() => toolArguments(undefined, ['=x'], schema)).toThrow(/not a key=value/)
    expect(() => toolArguments('{bad', [])).toThrow(/--args is not valid JSON/)
    expect(() => toolArguments('[1]', [])).toThrow(/--args must be a JSON object/)
  })

  it('prints text blocks, describes other blocks, falls back to structured content', () => {
    expect(resultText({ content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] })).toBe('a\nb')
    expect(resultText({ content: [{ type: 'image', mimeType: 'image/png', data: 'AAAA' }] })).toBe('[image image/png, 3 bytes]')
    expect(resultText({ content: [], structuredContent: { n: 1 } })).toBe('{\n  "n": 1\n}')
  })

  it('takes a base URL or the endpoint itself', () => {
    expect(mcpEndpoint('http://127.0.0.1:4000').href).toBe('http://127.0.0.1:4000/mcp')
    expect(mcpEndpoint('http://127.0.0.1:4000/mcp').href).toBe('http://127.0.0.1:4000/mcp')
    expect(() => mcpEndpoint('4000')).toThrow(/"4000" is not a URL/)
  })
})

describe('airmcp call through a running workspace', () => {
  let root = ''
  let cleanup = () => {}
  beforeAll(async () => {
    ;({ root, cleanup } = await makeExampleWorkspace())
    buildWorkspace(root)
    await runFleet(root, 'start')
  }, 180_000)
  afterAll(async () => {
    await stopFleets()
    cleanup()
  })

  it('finds the running gateway, types key=value from the schema, prints the text', async () => {
    const result = await runCli(['call', 'search', 'query=42', 'limit=3'], { cwd: root })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    // query stays a string although it looks like a number: the schema says string.
    expect(JSON.parse(result.stdout)).toEqual({ results: [], total: 0, query: '42' })
  })

  it('--json prints the whole result; --args takes JSON', async () => {
    const result = await runCli(['call', 'search', '--args', '{"query":"hello"}', '--json'], { cwd: root })
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ structuredContent: { query: 'hello' }, content: [{ type: 'text' }] })
  })

  it('a result with isError: its text on stderr, exit code 1 (--json too)', async () => {
    const result = await runCli(['call', 'read_file', 'path=missing.txt'], { cwd: root })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim()).toBe('Path "missing.txt" does not exist.')
    const json = await runCli(['call', 'read_file', 'path=missing.txt', '--json'], { cwd: root })
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ isError: true, content: [{ type: 'text', text: 'Path "missing.txt" does not exist.' }] })
  })

  it('an unknown tool, a bad value: a code and a "Try this:", nothing sent for bad input', async () => {
    const unknown = await runCli(['call', 'serch', 'query=x'], { cwd: root })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/The gateway has no tool "serch"[\s\S]*UNKNOWN_TOOL[\s\S]*Try this: one of: .*search/)
    const bad = await runCli(['call', 'search', 'limit=many'], { cwd: root })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/limit=many: the tool wants number for "limit"[\s\S]*BAD_ARGUMENT[\s\S]*Try this:/)
    expect(unknown.stderr + bad.stderr).not.toMatch(NO_STACK)
  })

  it('status: LAST ERROR holds the last failed call, text and time; --json has lastError { message, at }', async () => {
    const before = Date.now()
    for (const name of ['one', 'two', 'three']) expect((await runCli(['call', 'read_file', `path=${name}.txt`], { cwd: root })).code).toBe(1)
    const table = await runCli(['status'], { cwd: root })
    expect(table.code, table.stderr).toBe(0)
    const files = table.stdout.split('\n').find((line) => line.startsWith('files '))!
    expect(files).toMatch(/^files\s+files-1\s+sse\s+connected\s+\d+\s+\d+\s+[\d.]+ ms\s+\d\d:\d\d:\d\d Path "three\.txt" does not exist\.$/)
    const search = table.stdout.split('\n').find((line) => line.startsWith('search '))!
    expect(search).toMatch(/ms$/) // no failed call, no last error
    const json = await runCli(['status', '--json'], { cwd: root })
    const servers = JSON.parse(json.stdout).servers as { name: string; errors: number; lastError: { message: string; at: string } | null }[]
    const row = servers.find((s) => s.name === 'files')!
    expect(row.errors).toBeGreaterThanOrEqual(3)
    expect(row.lastError!.message).toBe('Path "three.txt" does not exist.')
    expect(Date.parse(row.lastError!.at)).toBeGreaterThanOrEqual(before - 1000)
    expect(Date.parse(row.lastError!.at)).toBeLessThanOrEqual(Date.now())
    expect(servers.find((s) => s.name === 'search')!.lastError).toBeNull()
  })
})

describe('airmcp call: gateway not running, token', () => {
  let gateway: Gateway
  let url = ''
  const upstream = defineServer({
    name: 'echo',
    version: '1.0.0',
    transport: { type: 'http', port: 0 },
    tools: [
      defineTool('echo', {
        description: 'Echo',
        params: { text: 'string' },
        handler: ({ text }) => {
          if (text === 'fail') throw new Error('echo refused fail')
          return `echo ${text}`
        },
      }),
    ],
  })
  beforeAll(async () => {
    await upstream.start()
    gateway = new Gateway({ name: 'guarded', port: 0, handleSignals: false, authToken: 'sesame-token' })
    gateway.register({ id: 'echo-1', name: 'echo', transport: 'http', connection: { type: 'http', url: upstream.url! } })
    await gateway.start()
    url = `http://127.0.0.1:${gateway.port}`
  })
  afterAll(async () => {
    await gateway.stop()
    await upstream.stop()
  })

  it('with the token it calls; without it says so, with a code and a "Try this:"', async () => {
    const ok = await runCli(['call', 'echo', 'text=hi', '--url', url, '--token', 'sesame-token'])
    expect(ok.stdout.trim()).toBe('echo hi')
    const fromEnv = await runCli(['call', 'echo', 'text=env', '--url', `${url}/mcp`], { env: { AIRMCP_GATEWAY_TOKEN: 'sesame-token' } })
    expect(fromEnv.stdout.trim()).toBe('echo env')
    const refused = await runCli(['call', 'echo', 'text=hi', '--url', url], { env: { AIRMCP_GATEWAY_TOKEN: '' } })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/refused \/mcp without the right token[\s\S]*UNAUTHORIZED[\s\S]*Try this: pass --token/)
    expect(refused.stderr).not.toContain('sesame-token')
  })

  it("behind a token, /health gives the last error's time but not its text", async () => {
    const failed = await runCli(['call', 'echo', 'text=fail', '--url', url, '--token', 'sesame-token'])
    expect(failed.code).toBe(1)
    expect(failed.stderr.trim()).toBe('echo refused fail')
    const status = await runCli(['status', '--url', url, '--token', 'sesame-token', '--json'])
    const row = JSON.parse(status.stdout).servers[0]
    expect(row.lastError).toEqual({ at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })
    const table = await runCli(['status', '--url', url, '--token', 'sesame-token'])
    expect(table.stdout).toMatch(/\d\d:\d\d:\d\d \(the gateway's token hides the message\)/)
  })

  it('no gateway at the URL: GATEWAY_NOT_RUNNING and "Try this: … airmcp dev"', async () => {
    const probe = createServer().listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const port = (probe.address() as AddressInfo).port
    probe.close()
    await once(probe, 'close')
    const result = await runCli(['call', 'echo', '--url', `http://127.0.0.1:${port}`])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(new RegExp(`No gateway answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`))
    expect(result.stderr).toMatch(/GATEWAY_NOT_RUNNING[\s\S]*Try this: start the workspace: airmcp dev/)
    expect(result.stderr).not.toMatch(NO_STACK)
  })
})
