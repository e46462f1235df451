import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { deployWorkspace as workspace, readIn as read, removeTempDirs } from '../helpers/deploy-workspace.js'
import { typeCheckManifests, validateManifests } from '../helpers/kubernetes.js'

afterAll(removeTempDirs)

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
    // Replicas share a session key (optional in the Secret) and each names its own URL for relayed answers.
    expect(container.env).toContainEqual({
      name: 'AIRMCP_SESSION_KEY',
      valueFrom: { secretKeyRef: { name: 'gateway-token', key: 'session-key', optional: true } },
    })
    const names = container.env.map((e: { name: string }) => e.name)
    expect(names.indexOf('POD_IP')).toBeLessThan(names.indexOf('AIRMCP_REPLICA_URL'))
    expect(container.env).toContainEqual({ name: 'AIRMCP_REPLICA_URL', value: expect.stringMatching(/^http:\/\/\$\(POD_IP\):\d+\/mcp$/) })
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

  it('--oauth-issuer and --oauth-audience: a ConfigMap generated by kustomization.yaml feeds the gateway, kept on later runs', async () => {
    const dir = await workspace()
    const oauth = ['--oauth-issuer', 'https://login.example.com/tenant/v2.0', '--oauth-audience', 'https://mcp.example.com/mcp']
    const dry = await runCli(['deploy', 'kubernetes', ...oauth, '--dry-run'], { cwd: dir })
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stderr).toContain('issuer=https://login.example.com/tenant/v2.0')
    expect(existsSync(join(dir, 'deploy/kubernetes'))).toBe(false)

    const first = await runCli(['deploy', 'kubernetes', ...oauth], { cwd: dir })
    expect(first.code, first.stderr).toBe(0)
    const kustomization = parse(read(dir, 'deploy/kubernetes/kustomization.yaml'))
    expect(kustomization.configMapGenerator).toEqual([
      { name: 'gateway-oauth', literals: ['issuer=https://login.example.com/tenant/v2.0', 'audience=https://mcp.example.com/mcp'] },
    ])
    const docs = manifests(dir)
    await validateManifests(docs)
    const typed = await typeCheckManifests(docs)
    expect(typed.code, typed.output).toBe(0)
    const env = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'gateway')!.spec.template.spec.containers[0].env
    expect(env).toContainEqual({ name: 'AIRMCP_GATEWAY_OAUTH_ISSUER', valueFrom: { configMapKeyRef: { name: 'gateway-oauth', key: 'issuer' } } })
    expect(env).toContainEqual({ name: 'AIRMCP_GATEWAY_OAUTH_AUDIENCE', valueFrom: { configMapKeyRef: { name: 'gateway-oauth', key: 'audience' } } })
    const search = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'search')!
    expect(JSON.stringify(search)).not.toContain('OAUTH')

    // Without the flags a later run keeps them; with new values it replaces them (other generators stay).
    expect((await runCli(['deploy', 'kubernetes', '--check'], { cwd: dir })).code).toBe(0)
    const path = join(dir, 'deploy/kubernetes/kustomization.yaml')
    writeFileSync(path, readFileSync(path, 'utf8').replace('configMapGenerator:\n', 'configMapGenerator:\n  - name: mine\n    literals:\n      - a=b\n'))
    const changed = await runCli(['deploy', 'kubernetes', '--oauth-issuer', 'http://localhost:8080/realms/mcp', '--oauth-audience', 'mcp'], { cwd: dir })
    expect(changed.code, changed.stderr).toBe(0)
    expect(parse(readFileSync(path, 'utf8')).configMapGenerator).toEqual([
      { name: 'mine', literals: ['a=b'] },
      { name: 'gateway-oauth', literals: ['issuer=http://localhost:8080/realms/mcp', 'audience=mcp'] },
    ])
    expect(manifests(dir).find((d) => d.metadata.name === 'gateway')!.spec.template.spec.containers[0].env).toContainEqual(
      expect.objectContaining({ name: 'AIRMCP_GATEWAY_OAUTH_ISSUER' }),
    )
  })
})
