import type { Document } from 'yaml'
import { AirmcpError } from '../../errors.js'
import type { Tree } from '../../tree/tree.js'
import { upstreamUrlVariable } from '../../gateway/upstreams/deploy-env.js'
import { planImages, type ImagePlan } from './images.js'
import { checkGatewayOAuth, readDeployModel, serviceUrl, type DeployModel, type GatewayOAuth } from './model.js'
import { deleteOwned, isStamped, stamped, writeOwned, type OwnedFileResult } from './owned-file.js'
import { changedMeaning, parseUserYaml, PRINT, setOwned, valueAt } from './yaml-edit.js'

type Yaml = typeof import('yaml')

export const KUBERNETES_DIR = 'deploy/kubernetes'
export const KUSTOMIZATION = `${KUBERNETES_DIR}/kustomization.yaml`
/** The Secret (key `token`) the gateway's bearer token comes from. */
export const GATEWAY_SECRET = 'gateway-token'
/** The ConfigMap (keys `issuer`, `audience`; not secret) kustomization.yaml generates for the gateway's OAuth. */
export const GATEWAY_OAUTH_CONFIG = 'gateway-oauth'

export interface KubernetesOptions {
  force?: boolean
  /** Gateway replicas; undefined keeps the kustomization's count (2 on first run). */
  replicas?: number
  /** Image registry prefix (`ghcr.io/acme`); undefined keeps the kustomization's. */
  registry?: string
  /** Image tag; undefined keeps the kustomization's (`latest` on first run). */
  tag?: string
  /** The gateway's OAuth issuer and audience (both or neither); undefined keeps the kustomization's. */
  oauth?: { issuer?: string; audience?: string }
}

export interface KubernetesResult extends OwnedFileResult {
  files: string[]
  images: string[]
  removed: string[]
  vendor: boolean
}

/** A manifest: a plain object with the fields the Kubernetes API defines. */
export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> } }

const OWNED_NOTE = 'Edit freely: airmcp deploy then keeps your version (--force rewrites it); overlays are the kustomize way.'

function labels(model: DeployModel, name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': model.workspace }
}

/** Probes send `Host: localhost`: servers and gateway accept loopback Host names even with allowedHosts set. */
function probe(overrides: Record<string, number>): Record<string, unknown> {
  return {
    httpGet: { path: '/health', port: 'mcp', httpHeaders: [{ name: 'Host', value: 'localhost' }] },
    timeoutSeconds: 5,
    ...overrides,
  }
}

function deployment(model: DeployModel, plan: ImagePlan, env: Record<string, unknown>[], resources: Record<string, unknown>): Manifest {
  const selector = labels(model, plan.service)
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: plan.service, labels: { ...selector, 'app.kubernetes.io/managed-by': 'airmcp' } },
    spec: {
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: selector },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: plan.service,
              image: plan.image,
              ports: [{ name: 'mcp', containerPort: plan.port }],
              env,
              readinessProbe: probe({ periodSeconds: 5, failureThreshold: 3 }),
              livenessProbe: probe({ initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 3 }),
              resources,
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  }
}

function service(model: DeployModel, plan: ImagePlan): Manifest {
  // Streamable HTTP sessions move between replicas (a shared AIRMCP_SESSION_KEY); a legacy `/sse` session
  // lives on its stream's pod, so its POSTs must reach that pod: the Service keeps a client on one pod.
  const affinity = plan.service === 'gateway' ? { sessionAffinity: 'ClientIP' } : {}
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: plan.service, labels: { ...labels(model, plan.service), 'app.kubernetes.io/managed-by': 'airmcp' } },
    spec: { selector: labels(model, plan.service), ports: [{ name: 'mcp', port: plan.port, targetPort: 'mcp' }], ...affinity },
  }
}

/** Every manifest of one image's file: a Deployment and a Service, plus a PodDisruptionBudget for the gateway. */
export function manifestsFor(model: DeployModel, plan: ImagePlan, oauth = false): Manifest[] {
  if (plan.service !== 'gateway') {
    const resources = { requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '256Mi' } }
    return [deployment(model, plan, [{ name: 'AIRMCP_HOST', value: '0.0.0.0' }], resources), service(model, plan)]
  }
  const env = [
    { name: 'AIRMCP_GATEWAY_HOST', value: '0.0.0.0' },
    { name: 'AIRMCP_GATEWAY_TOKEN', valueFrom: { secretKeyRef: { name: GATEWAY_SECRET, key: 'token' } } },
    // One session key for every replica: a session begun on one pod continues on another (a rollout, a
    // restart). Optional, so a Secret without it still starts (each pod then keeps its own sessions).
    { name: 'AIRMCP_SESSION_KEY', valueFrom: { secretKeyRef: { name: GATEWAY_SECRET, key: 'session-key', optional: true } } },
    // The pod's own URL, so an answer to its sampling/elicitation request that lands elsewhere is relayed back.
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'AIRMCP_REPLICA_URL', value: `http://$(POD_IP):${plan.port}/mcp` },
    ...model.networked.map((s) => ({ name: upstreamUrlVariable(s.name), value: serviceUrl(s) })),
    ...(oauth
      ? [
          { name: 'AIRMCP_GATEWAY_OAUTH_ISSUER', valueFrom: { configMapKeyRef: { name: GATEWAY_OAUTH_CONFIG, key: 'issuer' } } },
          { name: 'AIRMCP_GATEWAY_OAUTH_AUDIENCE', valueFrom: { configMapKeyRef: { name: GATEWAY_OAUTH_CONFIG, key: 'audience' } } },
        ]
      : []),
  ]
  const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } }
  const budget: Manifest = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'gateway', labels: { ...labels(model, 'gateway'), 'app.kubernetes.io/managed-by': 'airmcp' } },
    spec: { minAvailable: 1, selector: { matchLabels: labels(model, 'gateway') } },
  }
  return [deployment(model, plan, env, resources), service(model, plan), budget]
}

async function manifestFile(plan: ImagePlan, manifests: Manifest[]): Promise<string> {
  const yaml = await import('yaml')
  const body = manifests.map((m) => yaml.stringify(m, PRINT)).join('---\n')
  const title = plan.service === 'gateway' ? 'The gateway' : `The "${plan.service}" server`
  return stamped('#', `# ${title}: ${manifests.map((m) => m.kind).join(', ')}. Applied through kustomization.yaml.\n${body}`, OWNED_NOTE)
}

const KUSTOMIZATION_HEADER = ` The fleet as a kustomize base, written by \`airmcp deploy kubernetes\`:
   kubectl create secret generic ${GATEWAY_SECRET} --from-literal=token=$(openssl rand -hex 32) \\
     --from-literal=session-key=$(openssl rand -hex 32)
   kubectl apply -k deploy/kubernetes
 Re-running it keeps your entries; it adds and removes its own resources, and changes images and the
 gateway's replicas only when --registry, --tag or --replicas say so.`

function ensureKustomization(
  yaml: Yaml,
  doc: Document,
  model: DeployModel,
  plans: ImagePlan[],
  removed: string[],
  options: KubernetesOptions,
  oauth: GatewayOAuth | undefined,
): void {
  setOwned(yaml, doc, ['apiVersion'], 'kustomize.config.k8s.io/v1beta1')
  setOwned(yaml, doc, ['kind'], 'Kustomization')
  const files = plans.map((p) => `${p.service}.yaml`)
  const resources = ((valueAt(yaml, doc, ['resources']) as string[] | undefined) ?? []).filter((r) => !removed.includes(r))
  setOwned(yaml, doc, ['resources'], [...resources, ...files.filter((f) => !resources.includes(f))])

  const images = (valueAt(yaml, doc, ['images']) as Record<string, string>[] | undefined) ?? []
  const removedImages = removed.map((file) => `${model.workspace}-${file.replace(/\.yaml$/, '')}`)
  const nextImages = images.filter((image) => !removedImages.includes(image.name))
  // A new image follows the registry and tag the gateway's image already uses.
  const gatewayImage = nextImages.find((image) => image.name === `${model.workspace}-gateway`)
  const registry = options.registry ?? gatewayImage?.newName?.replace(/\/[^/]+$/, '')
  for (const plan of plans) {
    let entry = nextImages.find((image) => image.name === plan.image)
    if (!entry) {
      nextImages.push((entry = { name: plan.image, newTag: options.tag ?? gatewayImage?.newTag ?? 'latest' }))
      if (registry) entry.newName = `${registry}/${plan.image}`
    }
    if (options.registry) entry.newName = `${options.registry}/${plan.image}`
    if (options.tag) entry.newTag = options.tag
  }
  setOwned(yaml, doc, ['images'], nextImages)

  const replicas = (valueAt(yaml, doc, ['replicas']) as { name: string; count: number }[] | undefined) ?? []
  const gateway = replicas.find((r) => r.name === 'gateway')
  if (!gateway) replicas.push({ name: 'gateway', count: options.replicas ?? 2 })
  else if (options.replicas !== undefined) gateway.count = options.replicas
  setOwned(yaml, doc, ['replicas'], replicas)

  if (oauth) {
    const generators = ((valueAt(yaml, doc, ['configMapGenerator']) as { name: string }[] | undefined) ?? []).filter((g) => g.name !== GATEWAY_OAUTH_CONFIG)
    const literals = [`issuer=${oauth.issuer}`, `audience=${oauth.audience}`]
    setOwned(yaml, doc, ['configMapGenerator'], [...generators, { name: GATEWAY_OAUTH_CONFIG, literals }])
  }
}

/** Whether kustomization.yaml already generates the gateway's OAuth ConfigMap (a run with the flags wrote it). */
function hasOAuthConfig(yaml: Yaml, doc: Document): boolean {
  const generators = valueAt(yaml, doc, ['configMapGenerator'])
  return Array.isArray(generators) && generators.some((g) => (g as { name?: unknown })?.name === GATEWAY_OAUTH_CONFIG)
}

function checkOptions(options: KubernetesOptions): void {
  if (options.replicas !== undefined && (!Number.isInteger(options.replicas) || options.replicas < 1)) {
    throw new AirmcpError('INVALID_REPLICAS', `--replicas ${options.replicas} cannot serve clients: the gateway needs at least one replica.`, 'pass --replicas 2 (or any whole number from 1).')
  }
  if (options.registry !== undefined && !/^[a-z0-9]([a-z0-9._:-]*[a-z0-9])?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/.test(options.registry)) {
    throw new AirmcpError('INVALID_REGISTRY', `--registry "${options.registry}" is not an image registry path.`, 'pass a host and path without a trailing slash, e.g. --registry ghcr.io/acme')
  }
  if (options.tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(options.tag)) {
    throw new AirmcpError('INVALID_TAG', `--tag "${options.tag}" is not an image tag.`, 'use letters, digits, ".", "_" and "-", e.g. --tag 1.2.0')
  }
}

/**
 * Plans `deploy/kubernetes/`: per SSE/HTTP server a Deployment and a Service, the gateway as a Deployment,
 * a Service and a PodDisruptionBudget (replicas, images and tags in `kustomization.yaml`), plus the image
 * builds. Manifest files are airmcp's while unedited; kustomization.yaml keeps the user's entries.
 */
export async function kubernetesGenerator(tree: Tree, options: KubernetesOptions = {}): Promise<KubernetesResult> {
  checkOptions(options)
  const oauth = options.oauth && checkGatewayOAuth(options.oauth)
  const yaml = await import('yaml')
  const model = await readDeployModel(tree)
  const before = tree.read(KUSTOMIZATION)
  const doc = before === undefined ? new yaml.Document({}) : parseUserYaml(yaml, KUSTOMIZATION, before)
  if (before === undefined) doc.commentBefore = KUSTOMIZATION_HEADER

  const withOAuth = oauth !== undefined || hasOAuthConfig(yaml, doc)
  const force = options.force ?? false
  const result: KubernetesResult = { kept: [], files: [], images: [], removed: [], vendor: model.localRuntime }
  const plans = await planImages(tree, model, force, result)
  for (const plan of plans) {
    const path = `${KUBERNETES_DIR}/${plan.service}.yaml`
    writeOwned(tree, path, await manifestFile(plan, manifestsFor(model, plan, withOAuth)), force, result)
    result.files.push(path)
    result.images.push(plan.image)
  }
  const wanted = new Set(plans.map((p) => `${p.service}.yaml`))
  for (const file of tree.children(KUBERNETES_DIR)) {
    const path = `${KUBERNETES_DIR}/${file}`
    if (!file.endsWith('.yaml') || wanted.has(file) || path === KUSTOMIZATION) continue
    const text = tree.read(path)
    if (text === undefined || !isStamped(text)) continue
    const kept = result.kept.length
    deleteOwned(tree, path, force, result)
    if (result.kept.length === kept) result.removed.push(file)
  }
  ensureKustomization(yaml, doc, model, plans, result.removed, options, oauth)
  if (changedMeaning(before, doc, yaml)) tree.write(KUSTOMIZATION, doc.toString(PRINT))
  return result
}
