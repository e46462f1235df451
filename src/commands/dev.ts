import { BaseCommand } from '../cli/base-command.js'
import { AirmcpError } from '../errors.js'
import { findWorkspaceRoot } from '../workspace/root.js'
import { portChoice, portFlags } from '../fleet/flags.js'
import type { DevLoop } from '../fleet/dev.js'
import type { WorkspaceChanges } from '../fleet/watch.js'

export default class Dev extends BaseCommand {
  static override enableJsonFlag = false
  static override summary = 'Build the workspace, run every server and the gateway, and rebuild and restart what you change.'
  static override description =
    'Compiles every package with the workspace\'s tsc, then runs the servers and the gateway under the same ' +
    'supervisor as airmcp start. It watches servers/ and gateway/ (in-place and atomic saves, renames, new folders; ' +
    'editors\' temp files are ignored): a changed server is rebuilt and restarted alone, and the gateway reconnects ' +
    'to it; a failed build is reported and the last good build keeps running. After airmcp add server or airmcp ' +
    'gateway sync the running gateway takes the registrations its source declares over its supervisor channel, so ' +
    'connected clients stay connected and get list_changed; other edits of the gateway restart it. Ctrl-C stops everything.'
  static override examples = [
    '<%= config.bin %> dev',
    '<%= config.bin %> dev --port-offset 100   # beside another workspace',
    '<%= config.bin %> dev --free-ports',
  ]
  static override flags = { ...portFlags }
  protected override oneLineErrors = true

  async run(): Promise<void> {
    const { flags } = await this.parse(Dev)
    const { refuseSecondFleet } = await import('../fleet/state.js')
    const { readWorkspace } = await import('../workspace/index.js')
    const { planFleet, packageDirs } = await import('../fleet/plan.js')
    const { PrefixedOutput } = await import('../fleet/output.js')
    const { superviseFleet } = await import('../fleet/launch.js')
    const { readyBanner } = await import('../fleet/banner.js')
    const { buildPackages, findTsc } = await import('../fleet/build.js')
    const { DevLoop } = await import('../fleet/dev.js')
    const { watchWorkspace } = await import('../fleet/watch.js')
    const root = findWorkspaceRoot()
    refuseSecondFleet(root)
    findTsc(root)
    const choice = portChoice(flags)
    const workspace = await readWorkspace(root)
    const plan = await planFleet(workspace, choice)
    const output = new PrefixedOutput()
    // Watching starts before the first build: a save made while it runs is rebuilt once the fleet is up.
    const early: WorkspaceChanges[] = []
    let loop: DevLoop | undefined
    const stopWatching = await watchWorkspace(
      root,
      (changes) => (loop ? void loop.enqueue(changes) : early.push(changes)),
      (error) => output.line('dev', `watching failed: ${error.message}`, 'stderr'),
    )
    try {
      const dirs = packageDirs(plan)
      output.line('dev', `building ${dirs.join(', ')}`)
      if (!(await buildPackages(root, dirs, output))) {
        throw new AirmcpError('BUILD_FAILED', 'The workspace does not compile (tsc errors above).', 'fix them and run airmcp dev again.')
      }
      const running = await superviseFleet(plan, output, 'dev', () => void stopWatching())
      if (!running) return
      const { fleet, supervisor, stopped } = running
      loop = new DevLoop(plan, fleet, supervisor, output, choice, workspace)
      for (const changes of early.splice(0)) void loop.enqueue(changes)
      for (const line of readyBanner(plan, fleet.gatewayUrl)) output.line('dev', line)
      output.line('dev', 'watching servers/ and gateway/ for changes')
      await stopped
      await fleet.stop()
    } finally {
      await stopWatching()
    }
  }
}
