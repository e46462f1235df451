import type { Document } from 'yaml'
import type { Tree } from '../../tree/tree.js'
import { upstreamUrlVariable } from '../../gateway/upstreams/deploy-env.js'
import { planImages, type ImagePlan } from './images.js'
import { checkGatewayOAuth, readDeployModel, serviceUrl, type DeployModel } from './model.js'
import type { OwnedFileResult } from './owned-file.js'
import { changedMeaning, NODE, parseUserYaml, PRINT, setOwned, setSeeded, valueAt } from './yaml-edit.js'

type Yaml = typeof import('yaml')

export const COMPOSE_FILE = 'deploy/compose.yaml'
/** The label that marks the services airmcp deploy manages (and may remove when their server goes). */
export const MANAGED_LABEL = 'dev.airmcp.managed'

export interface DeployOptions {
  force?: boolean
  /** The gateway's OAuth issuer and audience (both or neither); undefined keeps what compose.yaml has. */
  oauth?: { issuer?: string; audience?: string }
}

export interface ComposeResult extends OwnedFileResult {
  services: string[]
  images: string[]
  /** Services removed from compose.yaml because their server is gone or is now stdio. */
  removed: string[]
  /** The workspace depends on airmcp through a path: the command packs it into deploy/vendor/. */
  vendor: boolean
}

const HEADER = ` The fleet for docker compose and podman-compose, written by \`airmcp deploy compose\`:
   docker compose -f deploy/compose.yaml up -d --build      (NODE_IMAGE=... picks the base image)
 Re-running it updates the services labelled ${MANAGED_LABEL}: their build, image, expose/ports, health-check
 command and AIRMCP_* variables. Everything else you add here (services, variables, volumes, comments) stays.`

/** `node -e "fetch(...)"`: slim images have no curl; CMD-SHELL because podman-compose 1.0.3 mangles CMD arguments. */
function healthCheck(port: number): Record<string, unknown> {
  return {
    test: ['CMD-SHELL', `node -e "fetch('http://127.0.0.1:${port}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"`],
  }
}

/** The values of one service that airmcp owns (`seeded`: defaults written once, then the user's). */
function desiredService(model: DeployModel, plan: ImagePlan): { owned: Record<string, unknown>; environment: Record<string, string | null>; seeded: Record<string, unknown> } {
  const isGateway = plan.service === 'gateway'
  const environment: Record<string, string | null> = isGateway
    ? {
        AIRMCP_GATEWAY_HOST: '0.0.0.0',
        // No value: passed through from the shell running compose when set there (empty would not be).
        AIRMCP_GATEWAY_TOKEN: null,
        ...Object.fromEntries(model.networked.map((s) => [upstreamUrlVariable(s.name), serviceUrl(s)])),
      }
    : { AIRMCP_HOST: '0.0.0.0' }
  const owned: Record<string, unknown> = {
    'build.context': '..',
    'build.dockerfile': plan.dockerfile,
    'build.args.NODE_IMAGE': `\${NODE_IMAGE:-${model.nodeImage}}`,
    image: `${plan.image}:latest`,
    'healthcheck.test': healthCheck(plan.port).test,
    [`labels.${MANAGED_LABEL}`]: 'true',
  }
  if (isGateway) owned.ports = [`127.0.0.1:\${AIRMCP_PUBLISH_PORT:-${plan.port}}:${plan.port}`]
  else owned.expose = [String(plan.port)]
  const seeded = { restart: 'unless-stopped', 'healthcheck.interval': '15s', 'healthcheck.timeout': '5s', 'healthcheck.retries': 3 }
  return { owned, environment, seeded }
}

/** A new service in the order people read them: build, image, environment, network, health, restart. */
function newService(
  owned: Record<string, unknown>,
  environment: Record<string, string | null>,
  seeded: Record<string, unknown>,
  model: DeployModel,
  plan: ImagePlan,
): Record<string, unknown> {
  const service: Record<string, unknown> = {}
  const put = (key: string, value: unknown) => {
    const parts = splitKey(key)
    let at = service
    for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>
    at[parts.at(-1)!] = value
  }
  for (const key of ['build.context', 'build.dockerfile', 'build.args.NODE_IMAGE', 'image']) put(key, owned[key])
  put('environment', environment)
  if (owned.ports) put('ports', owned.ports)
  if (owned.expose) put('expose', owned.expose)
  if (plan.service === 'gateway' && model.networked.length) put('depends_on', model.networked.map((s) => s.name))
  put('healthcheck.test', owned['healthcheck.test'])
  for (const [key, value] of Object.entries(seeded)) put(key, value)
  put(`labels.${MANAGED_LABEL}`, 'true')
  return service
}

const pathOf = (service: string, key: string) => ['services', service, ...splitKey(key)]

/** `labels.dev.airmcp.managed` → ['labels', 'dev.airmcp.managed']: label names keep their dots. */
function splitKey(key: string): string[] {
  if (key.startsWith('labels.')) return ['labels', key.slice('labels.'.length)]
  if (key.startsWith('build.args.')) return ['build', 'args', key.slice('build.args.'.length)]
  return key.split('.')
}

/** Sets the AIRMCP_* variables of a service (map or `KEY=value` list form) and drops stale upstream ones. */
function ensureEnvironment(yaml: Yaml, doc: Document, service: string, wanted: Record<string, string | null>): void {
  const path = ['services', service, 'environment']
  const current = valueAt(yaml, doc, path)
  if (Array.isArray(current)) {
    const items = (current as string[]).filter((item) => {
      const key = String(item).split('=')[0]
      return !(key in wanted) && !/^AIRMCP_UPSTREAM_.*_URL$/.test(key)
    })
    setOwned(yaml, doc, path, [...items, ...Object.entries(wanted).map(([k, v]) => (v === null ? k : `${k}=${v}`))])
    return
  }
  const map = (current ?? {}) as Record<string, unknown>
  for (const key of Object.keys(map)) {
    if (/^AIRMCP_UPSTREAM_.*_URL$/.test(key) && !(key in wanted)) doc.deleteIn([...path, key])
  }
  for (const [key, value] of Object.entries(wanted)) setOwned(yaml, doc, [...path, key], value)
}

function isManaged(yaml: Yaml, doc: Document, service: string): boolean {
  const labels = valueAt(yaml, doc, ['services', service, 'labels'])
  if (Array.isArray(labels)) return labels.includes(`${MANAGED_LABEL}=true`)
  return String((labels as Record<string, unknown> | undefined)?.[MANAGED_LABEL]) === 'true'
}

/**
 * Plans `deploy/compose.yaml` (one service per SSE/HTTP server, named after it, and the gateway, whose
 * image also carries the stdio servers), a Dockerfile per image and the build-context files. Re-runs
 * update only what airmcp owns in the file and keep the user's edits elsewhere.
 */
export async function composeGenerator(tree: Tree, options: DeployOptions = {}): Promise<ComposeResult> {
  const oauth = options.oauth && checkGatewayOAuth(options.oauth)
  const yaml = await import('yaml')
  const model = await readDeployModel(tree)
  const before = tree.read(COMPOSE_FILE)
  // Parse before planning anything else: a broken file refuses the whole run.
  const doc = before === undefined ? new yaml.Document({ services: {} }) : parseUserYaml(yaml, COMPOSE_FILE, before)
  if (before === undefined) doc.commentBefore = HEADER
  if (!yaml.isMap(doc.getIn(['services'], true))) doc.set('services', doc.createNode({}, NODE))

  const result: ComposeResult = { kept: [], services: [], images: [], removed: [], vendor: model.localRuntime }
  const plans = await planImages(tree, model, options.force ?? false, result)
  const wanted = new Set(plans.map((p) => p.service))

  for (const plan of plans) {
    const { owned, environment, seeded } = desiredService(model, plan)
    // Set once by the flags; later runs keep them (ensureEnvironment leaves other variables alone).
    if (oauth && plan.service === 'gateway') Object.assign(environment, { AIRMCP_GATEWAY_OAUTH_ISSUER: oauth.issuer, AIRMCP_GATEWAY_OAUTH_AUDIENCE: oauth.audience })
    if (!doc.hasIn(['services', plan.service])) {
      doc.setIn(['services', plan.service], doc.createNode(newService(owned, environment, seeded, model, plan), NODE))
    }
    for (const [key, value] of Object.entries(owned)) setOwned(yaml, doc, pathOf(plan.service, key), value)
    ensureEnvironment(yaml, doc, plan.service, environment)
    for (const [key, value] of Object.entries(seeded)) setSeeded(doc, pathOf(plan.service, key), value)
    result.services.push(plan.service)
    result.images.push(`${plan.image}:latest`)
  }
  const services = valueAt(yaml, doc, ['services']) as Record<string, unknown>
  for (const service of Object.keys(services)) {
    if (!wanted.has(service) && isManaged(yaml, doc, service)) {
      doc.deleteIn(['services', service])
      result.removed.push(service)
    }
  }
  // The gateway starts after the servers it reaches; entries the user added stay.
  const dependsPath = ['services', 'gateway', 'depends_on']
  const current = valueAt(yaml, doc, dependsPath)
  const servers = model.networked.map((s) => s.name)
  if (Array.isArray(current) || current === undefined) {
    const kept = ((current as string[] | undefined) ?? []).filter((name) => !result.removed.includes(name) && !servers.includes(name))
    const next = [...servers, ...kept]
    if (next.length) setOwned(yaml, doc, dependsPath, next)
    else if (current !== undefined) doc.deleteIn(dependsPath)
  } else {
    for (const name of servers) setSeeded(doc, [...dependsPath, name], { condition: 'service_started' })
    for (const name of result.removed) doc.deleteIn([...dependsPath, name])
  }

  if (changedMeaning(before, doc, yaml)) tree.write(COMPOSE_FILE, doc.toString(PRINT))
  return result
}
