import { execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { deployWorkspace as workspace, readIn as read, removeTempDirs, tempDir } from '../helpers/deploy-workspace.js'
import { hashTree } from '../helpers/hash.js'
import { ROOT } from '../helpers/processes.js'

const flat = (text: string) => text.replace(/\s*\n\s*›?\s*/g, ' ')

afterAll(removeTempDirs)

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
    expect(gatewayDockerfile).toContain('npm run build --if-present --workspace gateway \\\n && npm run build --if-present --workspace servers/analytics')
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

describe('airmcp deploy compose --oauth-issuer --oauth-audience', { timeout: 240_000 }, () => {
  it("sets the gateway's OAuth variables (only the gateway's), keeps them on later runs and replaces them when given again", async () => {
    const dir = await workspace()
    const oauth = ['--oauth-issuer', 'https://acme.okta.com/oauth2/default', '--oauth-audience', 'api://mcp']
    const before = hashTree(dir)
    const dry = await runCli(['deploy', 'compose', ...oauth, '--dry-run'], { cwd: dir })
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stderr).toContain('AIRMCP_GATEWAY_OAUTH_ISSUER: https://acme.okta.com/oauth2/default')
    expect(hashTree(dir)).toBe(before)

    expect((await runCli(['deploy', 'compose', ...oauth], { cwd: dir })).code).toBe(0)
    const { services } = compose(dir)
    expect(services.gateway.environment).toMatchObject({
      AIRMCP_GATEWAY_TOKEN: null,
      AIRMCP_GATEWAY_OAUTH_ISSUER: 'https://acme.okta.com/oauth2/default',
      AIRMCP_GATEWAY_OAUTH_AUDIENCE: 'api://mcp',
    })
    expect(services.search.environment).toEqual({ AIRMCP_HOST: '0.0.0.0' })
    expect((await runCli(['deploy', 'compose', '--check'], { cwd: dir })).code).toBe(0)
    const check = await runCli(['deploy', 'compose', '--check', '--oauth-issuer', 'https://other.example/', '--oauth-audience', 'api://mcp'], { cwd: dir })
    expect(check.code).toBe(1)
    expect(check.stderr).toContain('+      AIRMCP_GATEWAY_OAUTH_ISSUER: https://other.example/')
    expect((await runCli(['deploy', 'compose', '--oauth-issuer', 'https://other.example/', '--oauth-audience', 'api://mcp'], { cwd: dir })).code).toBe(0)
    expect(compose(dir).services.gateway.environment.AIRMCP_GATEWAY_OAUTH_ISSUER).toBe('https://other.example/')
  })
})

describe('airmcp deploy compose in a workspace with shared packages', { timeout: 240_000 }, () => {
  it("builds a server's image with the workspace packages it depends on, dependencies first", async () => {
    const dir = await workspace()
    const root = JSON.parse(read(dir, 'package.json'))
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...root, workspaces: [...root.workspaces, 'libs/*'] }, null, 2))
    mkdirSync(join(dir, 'libs/common'), { recursive: true })
    mkdirSync(join(dir, 'libs/util'), { recursive: true })
    writeFileSync(join(dir, 'libs/util/package.json'), JSON.stringify({ name: '@ws/util', version: '0.1.0' }))
    writeFileSync(join(dir, 'libs/common/package.json'), JSON.stringify({ name: '@ws/common', version: '0.1.0', dependencies: { '@ws/util': '*' } }))
    const search = JSON.parse(read(dir, 'servers/search/package.json'))
    search.dependencies['@ws/common'] = '*'
    writeFileSync(join(dir, 'servers/search/package.json'), JSON.stringify(search, null, 2))

    const result = await runCli(['deploy', 'compose'], { cwd: dir })
    expect(result.code, result.stderr).toBe(0)
    const dockerfile = read(dir, 'servers/search/Dockerfile')
    const order = ['libs/util', 'libs/common', 'servers/search'].map((p) => dockerfile.indexOf(`npm run build --if-present --workspace ${p} `))
    expect(order.every((at) => at > 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    expect(dockerfile).toContain('COPY libs/common/package.json libs/common/')
    expect(read(dir, 'servers/files/Dockerfile')).not.toContain('libs/')
  })
})

describe('airmcp deploy compose with airmcp as a tarball', { timeout: 240_000 }, () => {
  it('copies the tarball the workspace names into the build context', async () => {
    const packs = tempDir('airmcp-deploy-pack-')
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
    const dir = tempDir('airmcp-deploy-outside-')
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

  it('--oauth-issuer without --oauth-audience (or the reverse), a plain-http issuer off localhost, an audience with spaces', async () => {
    const dir = await workspace()
    for (const target of ['compose', 'kubernetes']) {
      await refuses(dir, ['deploy', target, '--oauth-issuer', 'https://login.example.com/'], /--oauth-audience is missing: the gateway checks tokens against both/)
      await refuses(dir, ['deploy', target, '--oauth-audience', 'api://mcp'], /--oauth-issuer is missing/)
      await refuses(dir, ['deploy', target, '--oauth-issuer', 'http://login.example.com/', '--oauth-audience', 'api://mcp'], /is not an https URL \(plain http only on localhost\)/)
      await refuses(dir, ['deploy', target, '--oauth-issuer', 'login.example.com', '--oauth-audience', 'api://mcp'], /"login.example.com" is not an https URL/)
      await refuses(dir, ['deploy', target, '--oauth-issuer', 'https://login.example.com/', '--oauth-audience', 'api://a b'], /has whitespace/)
    }
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
