import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { applyDeploy, deployFlags, oauthFlags, type DeployApplyResult } from '../../cli/deploy-command.js'
import { findWorkspaceRoot } from '../../workspace/root.js'
import { Tree } from '../../tree/tree.js'
import type { KubernetesResult } from '../../generators/deploy/kubernetes.js'

export default class DeployKubernetes extends BaseCommand {
  static override summary = 'Write container images and deploy/kubernetes/, a kustomize base for kubectl apply -k.'
  static override description =
    'A Deployment and a Service per SSE/HTTP server; the gateway as a Deployment (--replicas, default 2), a ' +
    'Service and a PodDisruptionBudget, its token from the Secret "gateway-token" (with --oauth-issuer/--oauth-audience, ' +
    'its OAuth issuer and audience from the ConfigMap "gateway-oauth" in kustomization.yaml); probes on /health, ' +
    'resource requests and limits; image names and tags in kustomization.yaml (--registry, --tag).'
  static override examples = [
    '<%= config.bin %> deploy kubernetes --registry ghcr.io/acme --tag 1.0.0',
    '<%= config.bin %> deploy kubernetes --replicas 3',
    '<%= config.bin %> deploy kubernetes --check   # in CI: exit 1 when out of date',
    '<%= config.bin %> deploy kubernetes --oauth-issuer https://login.example.com/ --oauth-audience https://mcp.example.com/mcp',
    'kubectl apply -k deploy/kubernetes',
  ]
  static override flags = {
    ...deployFlags,
    replicas: Flags.integer({ description: 'Gateway replicas (default 2 on the first run; later runs keep the count unless given).' }),
    registry: Flags.string({ description: 'Registry prefix of the image names, e.g. ghcr.io/acme (kept once set).' }),
    tag: Flags.string({ description: 'Image tag (default latest; kept once set).' }),
  }

  async run(): Promise<KubernetesResult & DeployApplyResult> {
    const { flags } = await this.parse(DeployKubernetes)
    const tree = new Tree(findWorkspaceRoot())
    const { kubernetesGenerator } = await import('../../generators/deploy/kubernetes.js')
    const result = await kubernetesGenerator(tree, {
      force: flags.force,
      replicas: flags.replicas,
      registry: flags.registry,
      tag: flags.tag,
      oauth: oauthFlags(flags),
    })
    for (const path of result.kept) this.note(`kept ${path}: it differs from what airmcp deploy wrote (--force rewrites it)`)
    const applied = applyDeploy(tree, result.vendor, flags, (line) => this.note(line))
    if (!applied.outOfDate) this.note('Deploy files already up to date.')
    else if (!flags['dry-run'] && !flags.check) {
      this.note(
        '\nNext: build and push the images (docker build -f <Dockerfile> .), then\n' +
          '  kubectl create secret generic gateway-token --from-literal=token=$(openssl rand -hex 32) \\\n' +
          '    --from-literal=session-key=$(openssl rand -hex 32)\n' +
          '  kubectl apply -k deploy/kubernetes',
      )
    }
    if (flags.check && applied.outOfDate) {
      if (this.jsonEnabled()) this.logJson({ ...result, ...applied })
      this.exit(1)
    }
    return { ...result, ...applied }
  }
}
