import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from './processes.js'

/** kubernetes-models module and interface of each kind the deploy generator writes. */
const KINDS: Record<string, { module: string; type: string; className: string }> = {
  Deployment: { module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment', className: 'Deployment' },
  Service: { module: 'kubernetes-models/v1/Service', type: 'IService', className: 'Service' },
  PodDisruptionBudget: { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget', className: 'PodDisruptionBudget' },
}

type Doc = { kind: string; apiVersion: string } & Record<string, unknown>

/** Validates every document against its Kubernetes schema (required fields, types, formats). */
export async function validateManifests(docs: Doc[]): Promise<void> {
  for (const doc of docs) {
    const kind = KINDS[doc.kind]
    if (!kind) throw new Error(`No kubernetes-models class for kind ${doc.kind}`)
    const Model = (await import(kind.module))[kind.className] as new (data: unknown) => { validate(): void }
    new Model(doc).validate()
  }
}

/**
 * Unknown fields pass schema validation, so each document is also written as a TypeScript literal that
 * `satisfies` its kubernetes-models interface, and tsc reports any property the API does not define.
 * Returns tsc's exit code and output.
 */
export async function typeCheckManifests(docs: Doc[]): Promise<{ code: number; output: string }> {
  // Inside node_modules/.cache so that `kubernetes-models` resolves from this repository.
  const cache = join(ROOT, 'node_modules/.cache')
  mkdirSync(cache, { recursive: true })
  const dir = mkdtempSync(join(cache, 'airmcp-k8s-'))
  try {
    const used = [...new Set(docs.map((d) => d.kind))]
    const lines = used.map((k) => `import type { ${KINDS[k].type} } from '${KINDS[k].module}'`)
    docs.forEach((doc, i) => lines.push(`export const doc${i} = ${JSON.stringify(doc, null, 2)} satisfies ${KINDS[doc.kind].type}`))
    writeFileSync(join(dir, 'manifests.ts'), `${lines.join('\n')}\n`)
    const args = [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', join(dir, 'manifests.ts')]
    try {
      const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: dir })
      return { code: 0, output: stdout }
    } catch (error) {
      const e = error as { code?: number; stdout?: string }
      return { code: e.code ?? 1, output: e.stdout ?? String(error) }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
