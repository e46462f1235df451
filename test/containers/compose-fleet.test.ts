import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { freePort, ROOT } from '../helpers/processes.js'
import { BASE_IMAGE, ensureBaseImage, missingTools, removeProject, sh } from './podman.js'

// The whole path a user takes: new --example → deploy compose → images → podman-compose up → one gateway.
const missing = missingTools()
if (missing && process.env.CI) throw new Error(`The container suite must run in CI, but ${missing}: run .ci/containers.sh first.`)
if (missing) console.warn(`test/containers skipped: ${missing} (install it with .ci/containers.sh; CI=1 makes this a failure).`)

interface Health {
  status: string
  servers: { name: string; status: string }[]
}

/** Polls until `check` returns a value (readiness comes from the fleet itself), with a generous bound. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
}

describe.skipIf(missing !== undefined)('a compose fleet of the example workspace under podman-compose', () => {
  const started = Date.now()
  const id = randomBytes(3).toString('hex')
  const name = `fleet-${id}`
  const project = `airmcp-test-${id}`
  const parent = mkdtempSync(join(tmpdir(), 'airmcp-containers-'))
  const workspace = join(parent, name)
  const images: string[] = []
  let port = 0
  let client: Client | undefined
  const timings: string[] = []
  let mark = Date.now()
  const lap = (label: string) => {
    timings.push(`${label} ${((Date.now() - mark) / 1000).toFixed(1)} s`)
    mark = Date.now()
  }

  const health = async (): Promise<Health> => (await fetch(`http://127.0.0.1:${port}/health`)).json() as Promise<Health>
  const statusOf = async (server: string) => (await health()).servers.find((s) => s.name === server)?.status
  const compose = (args: string[]) =>
    sh('podman-compose', ['-p', project, '-f', 'deploy/compose.yaml', ...args], {
      cwd: workspace,
      env: { NODE_IMAGE: BASE_IMAGE, AIRMCP_PUBLISH_PORT: String(port) },
    })

  beforeAll(async () => {
    ensureBaseImage()
    lap('base image')
    const created = await runCli(['new', name, '--example', '--yes', '--no-git', '--no-install', '--runtime', `file:${ROOT}`], { cwd: parent })
    expect(created.code, created.stderr).toBe(0)
    // Images install from the lockfile; the workspace itself needs no node_modules here.
    await sh('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: workspace })
    lap('new --example')
    const deployed = await runCli(['deploy', 'compose'], { cwd: workspace })
    expect(deployed.code, deployed.stderr).toBe(0)
    lap('deploy compose')

    // Every image, built at once from the files deploy wrote (compose's own build runs them one by one).
    const services = parse(readFileSync(join(workspace, 'deploy/compose.yaml'), 'utf8')).services as Record<
      string,
      { image: string; build: { context: string; dockerfile: string } }
    >
    expect(Object.keys(services).sort()).toEqual(['files', 'gateway', 'search'])
    await Promise.all(
      Object.values(services).map(async (service) => {
        images.push(service.image)
        await sh('podman', ['build', '-q', '--layers=false', '-f', service.build.dockerfile, '--build-arg', `NODE_IMAGE=${BASE_IMAGE}`, '-t', service.image, '.'], {
          cwd: workspace,
        })
      }),
    )
    lap('3 images')
    port = await freePort()
    const up = await compose(['up', '-d'])
    // podman-compose 1.0.3 exits 0 even when a container failed to start: read its exit codes.
    expect(up.match(/exit code: (?!0\b)\d+/g) ?? [], up).toEqual([])
    await waitFor('every upstream connected', async () => {
      const h = await health()
      return h.servers.length === 3 && h.servers.every((s) => s.status === 'connected') ? h : undefined
    }, 90_000)
    lap('up')
    client = new Client({ name: 'container-test', version: '0.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)))
  }, 600_000)

  afterAll(async () => {
    await client?.close().catch(() => {})
    mark = Date.now()
    await removeProject(project)
    lap('down')
    if (images.length) await sh('podman', ['rmi', '-f', ...images]).catch(() => '')
    rmSync(parent, { recursive: true, force: true })
    lap('clean-up')
    console.log(`test/containers: ${((Date.now() - started) / 1000).toFixed(0)} s (${timings.join(', ')})`)
  }, 120_000)

  const call = async (tool: string, args: Record<string, unknown>) => {
    const result = (await client!.callTool({ name: tool, arguments: args })) as {
      isError?: boolean
      content: { text: string }[]
      structuredContent?: Record<string, unknown>
    }
    return result
  }

  it('answers search, read_file and aggregate through the gateway published on 127.0.0.1', async () => {
    const search = await call('search', { query: 'containers' })
    expect(search.isError).toBeFalsy()
    expect(search.structuredContent).toMatchObject({ query: 'containers', total: 0 })
    // The files server reads inside its own image: its package.json is there.
    const file = await call('read_file', { path: 'servers/files/package.json' })
    expect(file.isError).toBeFalsy()
    expect(JSON.parse(file.content[0].text).name).toBe(`@${name}/files`)
    // aggregate comes from the stdio server the gateway's image carries and launches.
    const aggregate = await call('aggregate', { metric: 'calls', period: '7d' })
    expect(aggregate.structuredContent).toMatchObject({ metric: 'calls', period: '7d', unit: 'count' })
    expect((await health()).servers.map((s) => s.name).sort()).toEqual(['analytics', 'files', 'search'])
  })

  it('shows a stopped search container in error while the other tools answer, and restores it when it starts again', async () => {
    await sh('podman', ['stop', '-t', '2', `${project}_search_1`])
    // The gateway notices at its next health ping (15 s interval in the generated gateway).
    await waitFor('search in error', async () => ((await statusOf('search')) === 'error' ? true : undefined), 60_000)
    const h = await health()
    expect(h.status).toBe('degraded')
    expect((await call('read_file', { path: 'package.json' })).isError).toBeFalsy()
    expect((await call('aggregate', { metric: 'calls', period: '1y' })).structuredContent).toMatchObject({ metric: 'calls' })
    const failed = await client!.callTool({ name: 'search', arguments: { query: 'x' } }).then(
      (r) => (r as { isError?: boolean }).isError === true,
      () => true,
    )
    expect(failed).toBe(true)
    lap('stop')

    await sh('podman', ['start', `${project}_search_1`])
    await waitFor('search connected again', async () => ((await statusOf('search')) === 'connected' ? true : undefined), 90_000)
    expect((await call('search', { query: 'back' })).structuredContent).toMatchObject({ query: 'back' })
    expect((await health()).status).toBe('ok')
    lap('restart')
  })
})
