import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Gateway } from 'airmcp/gateway'
import { gatewayEnvironment, serverEnvironment } from '../../src/config/environment.js'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { freePort, killAll, killProcess, ROOT, startListening, TSX_NODE_ARGS, type Started } from '../helpers/processes.js'

const SRC = join(ROOT, 'src')

/**
 * The library: every source file the package's entry points load (`airmcp`, `airmcp/gateway`, `airmcp/testing`),
 * and every file of its folders, imported yet or not.
 */
function libraryFiles(): string[] {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g)) {
      visit(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'))
    }
  }
  for (const entry of ['runtime/index.ts', 'gateway/index.ts', 'runtime/testing.ts']) visit(join(SRC, entry))
  const folders = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => /^(runtime|gateway|http|telemetry|config)\/.*\.ts$/.test(f))
  return [...new Set([...[...seen].map((file) => relative(SRC, file)), ...folders])].sort()
}

/** `file:line` of each `process.<name>` in code (strings and comments, which may quote it, do not count). */
function usesOf(file: string, name: 'env' | 'exit'): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(SRC, file), 'utf8'), ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node) && node.name.text === name && ts.isIdentifier(node.expression) && node.expression.text === 'process') {
      found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

describe('configuration is resolved in one module', () => {
  const library = libraryFiles()

  it('the library is what the entry points load, and it includes the config module', () => {
    expect(library).toEqual(expect.arrayContaining(['config/environment.ts', 'gateway/gateway.ts', 'runtime/server.ts', 'http/host.ts', 'telemetry/tracing.ts']))
    expect(library.filter((file) => /^(commands|cli|generators)\//.test(file))).toEqual([])
  })

  it('no library module reads process.env except src/config/environment.ts', () => {
    expect(library.filter((file) => file !== 'config/environment.ts').flatMap((file) => usesOf(file, 'env'))).toEqual([])
  })

  it('no library module ends the process except src/runtime/program.ts (the default of a program that owns its process)', () => {
    expect(library.filter((file) => file !== 'runtime/program.ts').flatMap((file) => usesOf(file, 'exit'))).toEqual([])
  })

  it('a test hook is an option: AIRMCP_TEST_PROTOCOL is gone from src/', () => {
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    expect(files.filter((file) => readFileSync(join(SRC, file), 'utf8').includes('AIRMCP_TEST_PROTOCOL'))).toEqual([])
  })

  it('maps variables to the settings the options take; empty means unset; a bad port names its variable', () => {
    expect(serverEnvironment({ AIRMCP_PORT: '0', AIRMCP_HOST: '0.0.0.0', AIRMCP_SESSION_KEY: 'k', AIRMCP_STATE_KEY: '', AIRMCP_SUPERVISED: '1' })).toEqual({
      port: 0,
      host: '0.0.0.0',
      stateKey: undefined,
      sessionKey: 'k',
      replicaUrl: undefined,
      supervised: true,
    })
    const gateway = gatewayEnvironment(
      { AIRMCP_GATEWAY_PORT: '4100', AIRMCP_GATEWAY_TOKEN: 't', AIRMCP_UPSTREAM_WEB_TOOLS_URL: 'http://web:1', AIRMCP_UPSTREAM_X_URL: '', AIRMCP_LOCK: 'a.lock' },
      ['node', 'gateway.js', '--stdio'],
    )
    expect(gateway).toMatchObject({ port: 4100, authToken: 't', stdio: true, lock: 'a.lock', upstreamUrls: { AIRMCP_UPSTREAM_WEB_TOOLS_URL: 'http://web:1' } })
    expect(gateway.auth).toBeUndefined()
    expect(gatewayEnvironment({}, []).stdio).toBe(false)
    expect(() => gatewayEnvironment({ AIRMCP_GATEWAY_PORT: 'four' })).toThrow('AIRMCP_GATEWAY_PORT="four" is not a port. Try this: AIRMCP_GATEWAY_PORT=4000, or AIRMCP_GATEWAY_PORT=0 for a free one.')
    expect(() => serverEnvironment({ AIRMCP_PORT: '70000' })).toThrow(/^AIRMCP_PORT="70000" is not a port/)
  })
})

describe('a gateway process started with deploy variables', () => {
  let search: Started
  let files: Started
  let gatewayEnv: Record<string, string>
  beforeAll(async () => {
    ;[search, files] = await Promise.all(
      ['search-moved', 'files-moved'].map((replica) =>
        startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], { env: { REPLICA: replica, TRANSPORT: 'sse', AIRMCP_PORT: '0' } }),
      ),
    )
    gatewayEnv = {
      AIRMCP_UPSTREAM_SEARCH_URL: new URL(search.url).origin,
      AIRMCP_GATEWAY_PORT_MAP: `3511=${new URL(files.url).port}`,
    }
  }, 120_000)
  afterEach(() => closeClients())
  afterAll(() => killAll())

  it('listens where AIRMCP_GATEWAY_PORT/HOST say, wants AIRMCP_GATEWAY_TOKEN, follows its upstreams, logs JSON; SIGTERM ends it with 0', async () => {
    const port = await freePort()
    const gateway = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/env-gateway.ts'], {
      env: { ...gatewayEnv, AIRMCP_GATEWAY_PORT: String(port), AIRMCP_GATEWAY_HOST: '127.0.0.2', AIRMCP_GATEWAY_TOKEN: 'deploy-secret', AIRMCP_LOG_FORMAT: 'json' },
    })
    expect(gateway.url).toBe(`http://127.0.0.2:${port}/mcp`)
    const refused = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(refused.status).toBe(401)
    const client = new Client({ name: 'config-test', version: '0.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: { authorization: 'Bearer deploy-secret' } } }))
    try {
      expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('search-moved')
      expect(textOf(await client.callTool({ name: 'files_whoami' }))).toBe('files-moved')
    } finally {
      await client.close()
    }
    const lines = gateway.stderr().trim().split('\n')
    expect(lines.map((line) => JSON.parse(line).level)).toContain('info')

    const exited = once(gateway.child, 'exit')
    gateway.child.kill('SIGTERM')
    expect(await exited).toEqual([0, null])
    await killProcess(gateway.child)
  })

  it('serves on stdio with AIRMCP_GATEWAY_STDIO=1', async () => {
    const client = await connectClient('stdio', {
      command: process.execPath,
      args: [...TSX_NODE_ARGS, join(ROOT, 'fixtures/servers/env-gateway.ts')],
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), ...gatewayEnv, AIRMCP_GATEWAY_STDIO: '1' },
    })
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(expect.arrayContaining(['files_whoami', 'whoami']))
    expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('search-moved')
  })

  it('takes its lock file from AIRMCP_LOCK', async () => {
    const child = spawn(process.execPath, [...TSX_NODE_ARGS, 'fixtures/servers/env-gateway.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...gatewayEnv, AIRMCP_GATEWAY_PORT: '0', AIRMCP_LOCK: '/nonexistent/airmcp.lock' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr!.on('data', (chunk) => (stderr += chunk))
    const [code] = await once(child, 'exit')
    expect(code).not.toBe(0)
    expect(stderr).toContain('Lock file "/nonexistent/airmcp.lock" does not exist.')
  })
})

describe('handleSignals: false (embedding)', () => {
  afterEach(() => closeClients())
  afterAll(() => killAll())

  it('SIGTERM to a program embedding a gateway is the program\'s: the gateway keeps serving until the program stops it, then the process ends on its own', async () => {
    const upstream = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/replica.ts'], { env: { REPLICA: 'embedded', TRANSPORT: 'sse', AIRMCP_PORT: '0' } })
    const child = spawn(process.execPath, [...TSX_NODE_ARGS, 'fixtures/servers/embedded-gateway.ts'], {
      cwd: ROOT,
      env: { ...process.env, UPSTREAM: new URL(upstream.url).origin },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (chunk) => (stdout += chunk))
    child.stderr!.on('data', (chunk) => (stderr += chunk))
    await expect.poll(() => /listening on (http:\S+)/.exec(stderr)?.[1]).toBeDefined()
    const url = /listening on (http:\S+)/.exec(stderr)![1]

    child.kill('SIGTERM')
    await expect.poll(() => stdout).toContain('SIGTERM handled by the program')
    const client = await connectClient('http', url)
    expect(textOf(await client.callTool({ name: 'whoami' }))).toBe('embedded')
    await closeClients()

    const exited = once(child, 'exit')
    child.stdin!.end()
    expect(await exited).toEqual([0, null])
  })

  it('a port in use: start() rejects with the clear error and this process goes on', async () => {
    const holder = createServer().listen(0, '127.0.0.1')
    await once(holder, 'listening')
    const port = (holder.address() as { port: number }).port
    const gateway = new Gateway({ name: 'embedded-busy', port, handleSignals: false })
    try {
      await expect(gateway.start()).rejects.toThrow(
        `Gateway "embedded-busy": port ${port} on 127.0.0.1 is already in use. Try this: stop the other process, or choose another port (AIRMCP_GATEWAY_PORT=...).`,
      )
    } finally {
      await gateway.stop()
      holder.close()
    }
  })
})
