import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { renderTemplate, TEMPLATES_DIR } from '../render.js'
import type { Tree } from '../../tree/tree.js'
import { packagesFor, type DeployModel } from './model.js'
import { stamped, writeOwned, type OwnedFileResult } from './owned-file.js'

const OWNED_NOTE = 'Edit freely: airmcp deploy then keeps your version (--force rewrites it).'
export const INSTALL_SCRIPT = 'deploy/install.mjs'

/** Lines the build context must leave out: host installs and builds (node_modules links out of it). */
const DOCKERIGNORE_LINES = ['**/node_modules', '**/dist', '.git', '**/*.log', 'deploy/kubernetes', '**/.env*']

/** One image: what it is called, which packages it installs and builds, and what it runs. */
export interface ImagePlan {
  /** Compose service and Kubernetes name: the server's name, or `gateway`. */
  service: string
  /** `<workspace>-<service>` */
  image: string
  dockerfile: string
  port: number
}

/** The gateway's image carries the gateway and every stdio server it launches. */
export function imagePlans(model: DeployModel): ImagePlan[] {
  return [
    ...model.networked.map((server) => ({
      service: server.name,
      image: `${model.workspace}-${server.name}`,
      dockerfile: `${server.dir}/Dockerfile`,
      port: server.transport.port,
    })),
    { service: 'gateway', image: `${model.workspace}-gateway`, dockerfile: 'gateway/Dockerfile', port: model.gatewayPort },
  ]
}

async function dockerfile(model: DeployModel, plan: ImagePlan): Promise<string> {
  const isGateway = plan.service === 'gateway'
  const packages = packagesFor(model, isGateway ? ['gateway', ...model.stdio.map((s) => s.dir)] : [`servers/${plan.service}`])
  const body = await renderTemplate('deploy/Dockerfile.hbs', {
    title: isGateway
      ? `the gateway${model.stdio.length ? ` and the stdio servers it launches (${model.stdio.map((s) => s.name).join(', ')})` : ''}`
      : `the "${plan.service}" server`,
    dockerfile: plan.dockerfile,
    image: plan.image,
    nodeImage: model.nodeImage,
    packages,
    vendor: model.localRuntime,
    hostVariable: isGateway ? 'AIRMCP_GATEWAY_HOST' : 'AIRMCP_HOST',
    workdir: isGateway ? 'gateway' : `servers/${plan.service}`,
    port: plan.port,
  })
  return stamped('#', body, OWNED_NOTE)
}

/** Keeps the user's .dockerignore lines and adds the ones image builds need. */
function ensureDockerignore(tree: Tree): void {
  const current = tree.read('.dockerignore')
  const lines = current === undefined ? [] : current.split(/\r?\n/)
  const missing = DOCKERIGNORE_LINES.filter((line) => !lines.includes(line))
  if (!missing.length) return
  const header = current === undefined ? ['# Left out of image build contexts (airmcp deploy adds the lines it needs).'] : []
  const kept = current === undefined ? [] : current.replace(/\n*$/, '').split(/\r?\n/)
  tree.write('.dockerignore', [...header, ...kept, ...missing].join('\n') + '\n')
}

/** Plans a Dockerfile per image, the install script they share and the .dockerignore. */
export async function planImages(tree: Tree, model: DeployModel, force: boolean, result: OwnedFileResult): Promise<ImagePlan[]> {
  const plans = imagePlans(model)
  for (const plan of plans) writeOwned(tree, plan.dockerfile, await dockerfile(model, plan), force, result)
  const script = readFileSync(join(TEMPLATES_DIR, 'deploy/install.mjs'), 'utf8')
  writeOwned(tree, INSTALL_SCRIPT, stamped('//', script, OWNED_NOTE), force, result)
  ensureDockerignore(tree)
  return plans
}
