import { BaseCommand } from '../cli/base-command.js'
import { findWorkspaceRoot } from '../workspace/root.js'
import { portChoice, portFlags } from '../fleet/flags.js'

export default class Start extends BaseCommand {
  static override enableJsonFlag = false
  static override summary = 'Run the built workspace under a supervisor: every SSE/HTTP server, then the gateway.'
  static override description =
    'Each server runs in its own process group with its lines prefixed by its name; it is ready when its /health ' +
    'answers. A server that crashes is restarted with backoff while the others keep serving, and the gateway ' +
    'reconnects to it. A taken port stops everything before it starts. Ctrl-C stops every process. ' +
    'Use airmcp dev to rebuild and restart on changes.'
  static override examples = [
    '<%= config.bin %> start',
    'npm run build && <%= config.bin %> start',
    '<%= config.bin %> start --port-offset 100   # a second workspace beside the first',
    'AIRMCP_GATEWAY_PORT=4100 <%= config.bin %> start',
  ]
  static override flags = { ...portFlags }
  protected override oneLineErrors = true

  async run(): Promise<void> {
    const { flags } = await this.parse(Start)
    const { refuseSecondFleet } = await import('../fleet/state.js')
    const { readWorkspace } = await import('../workspace/index.js')
    const { planFleet, packageDirs, checkBuilt } = await import('../fleet/plan.js')
    const { staleBuilds } = await import('../fleet/stale.js')
    const { PrefixedOutput } = await import('../fleet/output.js')
    const { superviseFleet } = await import('../fleet/launch.js')
    const { readyBanner } = await import('../fleet/banner.js')
    const root = findWorkspaceRoot()
    refuseSecondFleet(root)
    const plan = await planFleet(await readWorkspace(root), portChoice(flags))
    checkBuilt(plan)
    const output = new PrefixedOutput()
    if (process.env.AIRMCP_PORT) {
      output.line('airmcp', 'AIRMCP_PORT is ignored: start gives each server its own port (the gateway: AIRMCP_GATEWAY_PORT; all: --port-offset).', 'stderr')
    }
    const dirs = packageDirs(plan)
    for (const stale of staleBuilds(root, dirs)) {
      output.line('airmcp', `${stale}: it runs the old build. Run npm run build first (or airmcp dev, which rebuilds on change).`, 'stderr')
    }
    const running = await superviseFleet(plan, output, 'start')
    if (!running) return
    const { fleet, stopped } = running
    for (const line of readyBanner(plan, fleet.gatewayUrl)) output.line('airmcp', line)
    await stopped
    await fleet.stop()
  }
}
