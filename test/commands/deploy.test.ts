import { execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { hashTree } from '../helpers/hash.js'
import { typeCheckManifests, validateManifests } from '../helpers/kubernetes.js'
import { ROOT } from '../helpers/processes.js'

const flat = (text: string) => text.replace(/\s*\n\s*›?\s*/g, ' ')
const temps: string[] = []

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

/** `airmcp new ws --example` without installing; a lockfile stands in for npm install's. */
async function workspace(runtime = '^0.1.0'): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), 'airmcp-deploy-'))
  temps.push(cwd)
  const created = await runCli(['new', 'ws', '--example', '--yes', '--no-install', '--no-git', '--runtime', runtime], { cwd })
  expect(created.code, created.stderr).toBe(0)
  const dir = join(cwd, 'ws')
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'ws', lockfileVersion: 3, packages: {} }))
  return dir
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8')
const compose = (dir: string) => parse(read(dir, 'deploy/compose.yaml'))

describe('airmcp deploy compose', { timeout: 240_000 }, () => {
  it('writes a Dockerfile per image, a .dockerignore and compose.yaml; a second run changes nothing', async () => {
    const dir = await workspace()
    const first = await runCli(['deploy', 'compose', '--json'], { cwd: dir })
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ services: ['files', 'search', 'gateway'], vendor: false })

    const { services } = compose(dir)
    expect(Object.keys(services).sort()).toEqual(['files', 'gateway', 'search'])
    expect(services.search).toMatchObject({
      build: { context: '..', dockerfile: 'servers/search/Dockerfile', args: { NODE_IMAGE: '${NODE_IMAGE:-node:22-slim}' } },
      image: 'ws-search:latest',
      environment: { AIRMCP_HOST: '0.0.0.0' },
      expose: ['3510'],
      labels: { 'dev.airmcp.managed': 'true' },
    })
    expect(services.search.healthcheck.test[0]).toBe('CMD-SHELL')
    expect(services.search.healthcheck.test[1]).toContain(`fetch('http://127.0.0.1:3510/health')`)
    expect(services.gateway).toMatchObject({
      ports: ['127.0.0.1:${AIRMCP_PUBLISH_PORT:-4000}:4000'],
      depends_on: ['files', 'search'],
      environment: {
        AIRMCP_GATEWAY_HOST: '0.0.0.0',
        AIRMCP_GATEWAY_TOKEN: null,
        AIRMCP_UPSTREAM_SEARCH_URL: 'http://search:3510',
        AIRMCP_UPSTREAM_FILES_URL: 'http://files:3511',
      },
    })
    // analytics speaks stdio: no service of its own, built into the gateway's image.
    const gatewayDockerfile = read(dir, 'gateway/Dockerfile')
    expect(gatewayDockerfile).toContain('COPY servers/analytics/package.json servers/analytics/')
    expect(gatewayDockerfile).toContain('npm run build --workspace gateway --workspace servers/analytics')
    const search = read(dir, 'servers/search/Dockerfile')
    expect(search).toContain('ARG NODE_IMAGE=node:22-slim')
    expect(search.match(/^FROM \$\{NODE_IMAGE\}/gm)).toHaveLength(2)
    expect(search).toContain('USER node')
    expect(search).toContain('npm prune --omit=dev')
    expect(search).not.toContain('servers/files')
    expect(search).not.toContain('deploy/vendor')
    // Manifests and the lockfile are copied before the sources.
    expect(search.indexOf('COPY package.json package-lock.json')).toBeLessThan(search.indexOf('COPY servers/search/ servers/search/'))
    expect(read(dir, '.dockerignore')).toContain('**/node_modules')

    const before = hashTree(dir)
    const second = await runCli(['deploy', 'compose'], { cwd: dir })
    expect(second.stderr).toContain('already up to date')
    expect((await runCli(['deploy', 'compose', '--check'], { cwd: dir })).code).toBe(0)
    expect(hashTree(dir)).toBe(before)
  })

  it('after add server, updates only what it owns: user services, variables, comments and edited Dockerfiles stay', async () => {
    const dir = await workspace()
    expect((await runCli(['deploy', 'compose'], { cwd: dir })).code).toBe(0)
    const edited = read(dir, 'deploy/compose.yaml')
      .replace('services:\n', 'services:\n  # our cache\n  redis:\n    image: redis:7\n')
      .replace('      AIRMCP_HOST: 0.0.0.0\n    expose:\n      - "3510"', '      AIRMCP_HOST: 0.0.0.0\n      LOG_LEVEL: debug\n    expose:\n      - "3510"')
      .replace(/(search:[\s\S]*?restart: )unless-stopped/, '$1always')
    writeFileSync(join(dir, 'deploy/compose.yaml'), edited)
    appendFileSync(join(dir, 'servers/search/Dockerfile'), 'LABEL team=search\n')

    expect((await runCli(['add', 'server', 'notes', '--transport', 'http', '--port', '3520'], { cwd: dir })).code).toBe(0)
    const check = await runCli(['deploy', 'compose', '--check'], { cwd: dir })
    expect(check.code).toBe(1)
    expect(check.stderr).toContain('+  notes:')
    const before = hashTree(dir)
    const dry = await runCli(['deploy', 'compose', '--dry-run'], { cwd: dir })
    expect(dry.stderr).toContain('CREATE servers/notes/Dockerfile')
    expect(hashTree(dir)).toBe(before)

    const run = await runCli(['deploy', 'compose'], { cwd: dir })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain('kept servers/search/Dockerfile')
    const { services } = compose(dir)
    expect(services.notes).toMatchObject({ expose: ['3520'], build: { dockerfile: 'servers/notes/Dockerfile' } })
    expect(services.gateway.environment.AIRMCP_UPSTREAM_NOTES_URL).toBe('http://notes:3520/mcp')
    expect(services.gateway.depends_on).toEqual(['files', 'notes', 'search'])
    expect(services.redis).toEqual({ image: 'redis:7' })
    expect(services.search.environment.LOG_LEVEL).toBe('debug')
    expect(services.search.restart).toBe('always')
    expect(read(dir, 'deploy/compose.yaml')).toContain('# our cache')
    expect(read(dir, 'servers/search/Dockerfile')).toContain('LABEL team=search')
    expect(existsSync(join(dir, 'servers/notes/Dockerfile'))).toBe(true)

    const forced = await runCli(['deploy', 'compose', '--force'], { cwd: dir })
    expect(forced.stderr).toContain('UPDATE servers/search/Dockerfile')
    expect(read(dir, 'servers/search/Dockerfile')).not.toContain('LABEL team=search')

    // A server that goes away takes its service and its gateway variable along; the user's service stays.
    rmSync(join(dir, 'servers/files'), { recursive: true })
    expect((await runCli(['gateway', 'sync'], { cwd: dir })).code).toBe(0)
    const removed = await runCli(['deploy', 'compose', '--json'], { cwd: dir })
    expect(JSON.parse(removed.stdout).removed).toEqual(['files'])
    const after = compose(dir).services
    expect(Object.keys(after).sort()).toEqual(['gateway', 'notes', 'redis', 'search'])
    expect(after.gateway.environment.AIRMCP_UPSTREAM_FILES_URL).toBeUndefined()
    expect(after.gateway.depends_on).toEqual(['notes', 'search'])
    expect((await runCli(['deploy', 'compose', '--check'], { cwd: dir })).code).toBe(0)
  })

  it('packs a local airmcp into the build context and points the Dockerfiles at it', async () => {
    const dir = await workspace(`file:${ROOT}`)
    const first = await runCli(['deploy', 'compose'], { cwd: dir })
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toContain('PACKED deploy/vendor/airmcp.tgz')
    expect(readFileSync(join(dir, 'deploy/vendor/airmcp.tgz')).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    expect(read(dir, 'servers/search/Dockerfile')).toContain('COPY deploy/vendor/airmcp.tgz deploy/vendor/')
    expect(read(dir, 'deploy/install.mjs')).toContain("pkg[field].airmcp = `file:${tarball}`")
    expect(read(dir, '.gitignore').split('\n')).toContain('deploy/vendor/')
    const second = await runCli(['deploy', 'compose'], { cwd: dir })
    expect(second.stderr).not.toContain('PACKED')
    expect(second.stderr).toContain('already up to date')
  })
})

describe('airmcp deploy compose with airmcp as a tarball', { timeout: 240_000 }, () => {
  it('copies the tarball the workspace names into the build context', async () => {
    const packs = mkdtempSync(join(tmpdir(), 'airmcp-deploy-pack-'))
    temps.push(packs)
    execFileSync('npm', ['pack', ROOT, '--pack-destination', packs, '--silent', '--ignore-scripts'], { stdio: 'ignore' })
    const tarball = join(packs, readdirSync(packs).find((f) => f.endsWith('.tgz'))!)
    const dir = await workspace(`file:${tarball}`)
    const result = await runCli(['deploy', 'compose'], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    expect(readFileSync(join(dir, 'deploy/vendor/airmcp.tgz')).equals(readFileSync(tarball))).toBe(true)
    expect(read(dir, 'gateway/Dockerfile')).toContain('COPY deploy/vendor/airmcp.tgz deploy/vendor/')
  })
})

describe('airmcp deploy: bad input changes nothing', { timeout: 240_000 }, () => {
  const refuses = async (dir: string, args: string[], message: RegExp) => {
    const before = hashTree(dir)
    const result = await runCli(args, { cwd: dir })
    expect(result.code).toBe(1)
    expect(flat(result.stderr)).toMatch(message)
    expect(result.stderr).toContain('Try this:')
    expect(hashTree(dir)).toBe(before)
  }

  it('outside a workspace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airmcp-deploy-outside-'))
    temps.push(dir)
    await refuses(dir, ['deploy', 'compose'], /is not inside an airmcp workspace/)
  })

  it('an unknown target', async () => {
    const dir = await workspace()
    await refuses(dir, ['deploy', 'swarm'], /"swarm" is not a deploy target.*airmcp deploy compose, or airmcp deploy kubernetes/)
  })

  it('--replicas 0, a bad registry or tag', async () => {
    const dir = await workspace()
    await refuses(dir, ['deploy', 'kubernetes', '--replicas', '0'], /--replicas 0 cannot serve clients/)
    await refuses(dir, ['deploy', 'kubernetes', '--registry', 'ghcr.io/acme/'], /is not an image registry path/)
    await refuses(dir, ['deploy', 'kubernetes', '--tag', 'v1 beta'], /is not an image tag/)
  })

  it('a server whose name is not a DNS label', async () => {
    const dir = await workspace()
    mkdirSync(join(dir, 'servers/Search_Index/src'), { recursive: true })
    writeFileSync(join(dir, 'servers/Search_Index/package.json'), JSON.stringify({ name: '@ws/x', airmcp: { type: 'sse', port: 3600 } }))
    await refuses(dir, ['deploy', 'compose'], /"servers\/Search_Index" cannot name a service: deployed names must be DNS labels/)
    await refuses(dir, ['deploy', 'kubernetes'], /must be DNS labels/)
  })

  it('a hand-broken compose.yaml is refused with its line', async () => {
    const dir = await workspace()
    mkdirSync(join(dir, 'deploy'))
    writeFileSync(join(dir, 'deploy/compose.yaml'), 'services:\n  search:\n    image: x\n   build: y\n')
    await refuses(dir, ['deploy', 'compose'], /"deploy\/compose.yaml" does not parse \(line 4, column \d+\).*Nothing was written/)
    expect(existsSync(join(dir, 'servers/search/Dockerfile'))).toBe(false)
  })

  it('a workspace without a lockfile', async () => {
    const dir = await workspace()
    rmSync(join(dir, 'package-lock.json'))
    await refuses(dir, ['deploy', 'compose'], /"package-lock.json" does not exist/)
  })
})

type Doc = { kind: string; apiVersion: string; metadata: { name: string } } & Record<string, any>

function manifests(dir: string): Doc[] {
  return ['search', 'files', 'gateway'].flatMap((name) =>
    parseAllDocuments(read(dir, `deploy/kubernetes/${name}.yaml`)).map((d) => d.toJS() as Doc),
  )
}

describe('airmcp deploy kubernetes', { timeout: 240_000 }, () => {
  it('writes a kustomize base whose every document validates and has no unknown field', async () => {
    const dir = await workspace()
    const result = await runCli(['deploy', 'kubernetes'], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    const kustomization = parse(read(dir, 'deploy/kubernetes/kustomization.yaml'))
    expect(kustomization).toMatchObject({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['files.yaml', 'search.yaml', 'gateway.yaml'],
      replicas: [{ name: 'gateway', count: 2 }],
    })
    expect(kustomization.images.map((i: { name: string }) => i.name)).toEqual(['ws-files', 'ws-search', 'ws-gateway'])

    const docs = manifests(dir)
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'Deployment/search', 'Service/search', 'Deployment/files', 'Service/files',
      'Deployment/gateway', 'Service/gateway', 'PodDisruptionBudget/gateway',
    ])
    await validateManifests(docs)
    const typed = await typeCheckManifests(docs)
    expect(typed.code, typed.output).toBe(0)

    const gateway = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'gateway')!
    const container = gateway.spec.template.spec.containers[0]
    expect(container.env).toContainEqual({ name: 'AIRMCP_GATEWAY_TOKEN', valueFrom: { secretKeyRef: { name: 'gateway-token', key: 'token' } } })
    expect(container.env).toContainEqual({ name: 'AIRMCP_UPSTREAM_SEARCH_URL', value: 'http://search:3510' })
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/health', port: 'mcp', httpHeaders: [{ name: 'Host', value: 'localhost' }] })
    }
    expect(container.resources).toMatchObject({ requests: { cpu: expect.any(String) }, limits: { memory: expect.any(String) } })
    expect(docs.find((d) => d.kind === 'PodDisruptionBudget')!.spec.minAvailable).toBe(1)
  })

  it('the unknown-field check fails on a planted misspelling that schema validation lets through', async () => {
    const dir = await workspace()
    expect((await runCli(['deploy', 'kubernetes'], { cwd: dir })).code).toBe(0)
    const docs = manifests(dir)
    // tsc names the first unknown property of each literal: one misspelling per Deployment.
    docs[0].spec.replica = 3
    docs[2].spec.template.spec.containers[0].imag = 'typo'
    await validateManifests(docs)
    const typed = await typeCheckManifests(docs)
    expect(typed.code).not.toBe(0)
    expect(typed.output).toMatch(/'"replica"' does not exist in type 'IDeploymentSpec'/)
    expect(typed.output).toMatch(/'"imag"' does not exist in type 'IContainer'/)
  })

  it('--registry, --tag and --replicas go to kustomization.yaml and stay on later runs; user entries stay too', async () => {
    const dir = await workspace()
    const first = await runCli(['deploy', 'kubernetes', '--registry', 'ghcr.io/acme', '--tag', '1.2.0', '--replicas', '3'], { cwd: dir })
    expect(first.code, first.stderr).toBe(0)
    const path = join(dir, 'deploy/kubernetes/kustomization.yaml')
    writeFileSync(path, readFileSync(path, 'utf8').replace('resources:\n', 'resources:\n  - extra.yaml\n'))
    const kustomization = parse(readFileSync(path, 'utf8'))
    expect(kustomization.images).toContainEqual({ name: 'ws-search', newTag: '1.2.0', newName: 'ghcr.io/acme/ws-search' })
    expect(kustomization.replicas).toEqual([{ name: 'gateway', count: 3 }])
    expect((await runCli(['deploy', 'kubernetes', '--check'], { cwd: dir })).code).toBe(0)

    expect((await runCli(['add', 'server', 'notes', '--transport', 'http', '--port', '3520'], { cwd: dir })).code).toBe(0)
    expect((await runCli(['deploy', 'kubernetes'], { cwd: dir })).code).toBe(0)
    const after = parse(readFileSync(path, 'utf8'))
    expect(after.resources).toEqual(['extra.yaml', 'files.yaml', 'search.yaml', 'gateway.yaml', 'notes.yaml'])
    expect(after.replicas).toEqual([{ name: 'gateway', count: 3 }])
    expect(after.images).toContainEqual({ name: 'ws-search', newTag: '1.2.0', newName: 'ghcr.io/acme/ws-search' })
    // A new image follows the registry and tag the others use.
    expect(after.images).toContainEqual({ name: 'ws-notes', newTag: '1.2.0', newName: 'ghcr.io/acme/ws-notes' })
    const gateway = parseAllDocuments(read(dir, 'deploy/kubernetes/gateway.yaml'))[0].toJS()
    expect(gateway.spec.template.spec.containers[0].env).toContainEqual({ name: 'AIRMCP_UPSTREAM_NOTES_URL', value: 'http://notes:3520/mcp' })
  })
})
