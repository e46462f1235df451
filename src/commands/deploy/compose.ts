import { BaseCommand } from '../../cli/base-command.js'
import { applyDeploy, deployFlags, oauthFlags, type DeployApplyResult } from '../../cli/deploy-command.js'
import { findWorkspaceRoot } from '../../workspace/root.js'
import { Tree } from '../../tree/tree.js'
import type { ComposeResult } from '../../generators/deploy/compose.js'

export default class DeployCompose extends BaseCommand {
  static override summary = 'Write container images and deploy/compose.yaml for docker compose or podman-compose.'
  static override description =
    'One Dockerfile per SSE/HTTP server and one for the gateway (which also carries the stdio servers), a ' +
    '.dockerignore, and deploy/compose.yaml with a service per server, the gateway on 127.0.0.1 and health ' +
    'checks on /health. Re-run it after adding servers: it updates what it manages and keeps your edits.'
  static override examples = [
    '<%= config.bin %> deploy compose',
    '<%= config.bin %> deploy compose --dry-run',
    '<%= config.bin %> deploy compose --check   # in CI: exit 1 when out of date',
    '<%= config.bin %> deploy compose --oauth-issuer https://login.example.com/ --oauth-audience https://mcp.example.com/mcp',
    'docker compose -f deploy/compose.yaml up -d --build',
  ]
  static override flags = deployFlags

  async run(): Promise<ComposeResult & DeployApplyResult> {
    const { flags } = await this.parse(DeployCompose)
    const tree = new Tree(findWorkspaceRoot())
    const { composeGenerator } = await import('../../generators/deploy/compose.js')
    const result = await composeGenerator(tree, { force: flags.force, oauth: oauthFlags(flags) })
    for (const path of result.kept) this.note(`kept ${path}: it differs from what airmcp deploy wrote (--force rewrites it)`)
    const applied = applyDeploy(tree, result.vendor, flags, (line) => this.note(line))
    if (!applied.outOfDate) this.note('Deploy files already up to date.')
    else if (!flags['dry-run'] && !flags.check) {
      this.note(`\nNext: docker compose -f deploy/compose.yaml up -d --build   (or podman-compose)`)
    }
    if (flags.check && applied.outOfDate) {
      if (this.jsonEnabled()) this.logJson({ ...result, ...applied })
      this.exit(1)
    }
    return { ...result, ...applied }
  }
}
