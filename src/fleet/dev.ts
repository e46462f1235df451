import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { readWorkspace, type Workspace } from '../workspace/index.js'
import { buildPackages } from './build.js'
import { codeBesideRegistrations, sourceRegistrations } from './gateway-link.js'
import { gatewaySpec, serverSpec, type RunningFleet } from './launch.js'
import type { PrefixedOutput } from './output.js'
import { placePort, type FleetMember, type FleetPlan, type PortChoice } from './plan.js'
import { portIsFree } from './ports.js'
import type { Supervisor } from './supervisor.js'
import { noChanges, type WorkspaceChanges } from './watch.js'

type ServerRead = Workspace['servers'][number]

const sameTransport = (member: FleetMember | undefined, server: ServerRead) =>
  member !== undefined && server.transport.type === member.transport && server.transport.port === member.declaredPort

/**
 * What `airmcp dev` does with a batch of changes: rebuild what changed (tsc), restart only those servers
 * (or have the gateway respawn a stdio one), start added servers, stop removed ones, and hand the gateway
 * its new registration set, read from its source, so connected clients stay connected and get `list_changed`.
 */
export class DevLoop {
  private queue: Promise<void> = Promise.resolve()
  /** What a failed build or change left undone: the next batch does it too. */
  private unfinished: WorkspaceChanges = noChanges()
  /** The gateway's code beside its registrations, as the running gateway process was built from. */
  private gatewayCode: string | undefined

  constructor(
    private readonly plan: FleetPlan,
    private readonly fleet: RunningFleet,
    private readonly supervisor: Supervisor,
    private readonly output: PrefixedOutput,
    private readonly choice: PortChoice,
    workspace: Workspace,
  ) {
    this.gatewayCode = workspace.gateway && codeBesideRegistrations(workspace.gateway)
  }

  /** Batches run one after another: two tsc runs never race on a 2-core laptop. */
  enqueue(changes: WorkspaceChanges): Promise<void> {
    this.queue = this.queue.then(async () => {
      const batch: WorkspaceChanges = {
        servers: new Set([...this.unfinished.servers, ...changes.servers]),
        gateway: this.unfinished.gateway || changes.gateway,
      }
      this.unfinished = noChanges()
      try {
        if (!(await this.apply(batch))) this.unfinished = batch
      } catch (error) {
        this.unfinished = batch
        this.say(`could not apply the change: ${(error as Error).message}`, 'stderr')
      }
    })
    return this.queue
  }

  private say(text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this.output.line('dev', text, stream)
  }

  /** Resolves false when the build failed (the processes keep running their last good build). */
  private async apply(changes: WorkspaceChanges): Promise<boolean> {
    const { plan } = this
    const workspace = await readWorkspace(plan.root)
    const servers = workspace.servers.filter((s) => existsSync(join(plan.root, s.dir, 'src/index.ts')))
    const known = new Map([...plan.servers.map((s) => [s.name, s] as const)])
    const knownStdio = new Set(plan.stdio.map((s) => s.name))
    const current = new Map(servers.map((s) => [s.name, s]))
    const removed = [...known.keys(), ...knownStdio].filter((name) => !current.has(name))
    const added = servers.filter((s) => !known.has(s.name) && !knownStdio.has(s.name))
    // A server whose transport or port changed is started again from scratch, like an added one.
    const moved = servers.filter((s) => changes.servers.has(s.name) && known.has(s.name) && !sameTransport(known.get(s.name), s))
    const edited = servers.filter((s) => changes.servers.has(s.name) && !added.includes(s) && !moved.includes(s))

    for (const name of [...removed, ...moved.map((s) => s.name)]) await this.stopServer(name)

    const toBuild = [...added, ...moved, ...edited].map((s) => s.dir)
    const gatewayChanged = changes.gateway || removed.length > 0 || added.length > 0 || moved.length > 0
    if (changes.gateway) toBuild.push(plan.gateway.dir)
    if (toBuild.length) {
      this.say(`rebuilding ${toBuild.join(', ')}`)
      if (!(await buildPackages(plan.root, toBuild, this.output, true))) {
        this.say('the build failed (errors above); the running processes keep the last good build', 'stderr')
        return false
      }
    }

    for (const server of [...added, ...moved]) await this.startServer(server)
    for (const server of edited) {
      if (server.transport.type === 'stdio') {
        this.say(`${server.name}: the gateway restarts its stdio process`)
      } else {
        this.say(`${server.name}: restarting`)
        await this.supervisor.restart(server.name)
      }
      await this.fleet.reconnect(server.name)
    }
    if (gatewayChanged) await this.updateGateway(workspace)
    this.fleet.saveState()
    return true
  }

  private async stopServer(name: string): Promise<void> {
    const { plan } = this
    const member = plan.servers.find((s) => s.name === name)
    plan.stdio = plan.stdio.filter((s) => s.name !== name)
    if (!member) return
    this.say(`${name}: stopping (removed or moved)`)
    await this.supervisor.remove(name)
    plan.servers = plan.servers.filter((s) => s !== member)
    delete plan.portMap[member.declaredPort]
  }

  private async startServer(server: ServerRead): Promise<void> {
    const { plan } = this
    if (server.transport.type === 'stdio') {
      plan.stdio.push({ name: server.name, dir: server.dir })
      this.say(`${server.name}: added (stdio, launched by the gateway)`)
      return
    }
    const declared = server.transport.port
    const port = await placePort(this.choice, declared, `server "${server.name}"`)
    if (!(await portIsFree(port))) {
      this.say(`${server.name}: port ${port} is already in use; not started. Try this: another port in ${server.dir}/src/index.ts`, 'stderr')
      return
    }
    const member: FleetMember = { name: server.name, kind: 'server', dir: server.dir, transport: server.transport.type, declaredPort: declared, port }
    if (port !== declared) plan.portMap[declared] = port
    plan.servers.push(member)
    this.say(`${server.name}: starting (${member.transport} :${port})`)
    await this.supervisor.start(serverSpec(plan, member))
  }

  /**
   * Hands the running gateway the registrations its source makes; when its own code changed too (or its
   * registrations are computed, so only running it tells them), restarts it on the new build instead.
   */
  private async updateGateway(workspace: Workspace): Promise<void> {
    if (!workspace.gateway) throw workspace.gatewayProblem!
    const code = codeBesideRegistrations(workspace.gateway)
    const registrations = sourceRegistrations(workspace.gateway)
    if (registrations && code === this.gatewayCode) {
      const { added, removed, changed } = await this.fleet.setRegistrations(registrations)
      const parts = [...added.map((id) => `+${id}`), ...removed.map((id) => `-${id}`), ...changed.map((id) => `~${id}`)]
      this.say(`gateway registrations ${parts.length ? parts.join(' ') : 'unchanged'} (clients stay connected)`)
      return
    }
    const why = registrations ? 'its code changed beyond its registrations' : 'its registrations are computed in code'
    this.say(`gateway: restarting on the new build (${why}; clients reconnect)`)
    await this.supervisor.restart('gateway', gatewaySpec(this.plan))
    this.gatewayCode = code
  }
}
