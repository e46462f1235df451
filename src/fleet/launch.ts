import { join } from 'node:path'
import type { Registration } from '../gateway/types.js'
import { AirmcpError } from '../errors.js'
import type { PrefixedOutput } from './output.js'
import type { FleetMember, FleetPlan } from './plan.js'
import { portIsFree } from './ports.js'
import { removeFleetState, writeFleetState } from './state.js'
import { untilSignal } from './flags.js'
import { StartupError, Supervisor, type ChildSpec } from './supervisor.js'

const LOCAL = '127.0.0.1'

/** `Port 3511 (server "files") is already in use.` with the fix that fits who owns the port. */
function portInUse(member: FleetMember, command: string): AirmcpError {
  const who = member.kind === 'gateway' ? 'the gateway' : `server "${member.name}"`
  const move =
    member.kind === 'gateway'
      ? `AIRMCP_GATEWAY_PORT=${member.port + 100} airmcp ${command} (or --port-offset 100 to move every port)`
      : `airmcp ${command} --port-offset 100 (moves every port), or --free-ports`
  return new AirmcpError('PORT_IN_USE', `Port ${member.port} (${who}) is already in use.`, `stop what listens on ${member.port}, or ${move}.`)
}

/** Fails fast, before anything starts, when a port of the plan is taken. */
export async function checkPorts(plan: FleetPlan, command: string): Promise<void> {
  for (const member of [...plan.servers, plan.gateway]) {
    if (!(await portIsFree(member.port, LOCAL))) throw portInUse(member, command)
  }
}

/** The environment every child inherits: ours, minus what only one process may read. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  // AIRMCP_PORT set for `airmcp start` would put every server on one port: each gets its own below.
  delete env.AIRMCP_PORT
  return env
}

export function serverSpec(plan: FleetPlan, member: FleetMember): ChildSpec {
  return {
    name: member.name,
    cwd: join(plan.root, member.dir),
    entry: 'dist/index.js',
    env: { ...baseEnv(), AIRMCP_PORT: String(member.port), AIRMCP_HOST: LOCAL, AIRMCP_SUPERVISED: '1' },
    healthUrl: `http://${LOCAL}:${member.port}/health`,
    // The channel lets the server notice when we are gone (even after a SIGKILL) and stop.
    ipc: true,
  }
}

export function gatewaySpec(plan: FleetPlan): ChildSpec {
  const portMap = Object.entries(plan.portMap).map(([from, to]) => `${from}=${to}`).join(',')
  return {
    name: 'gateway',
    cwd: join(plan.root, plan.gateway.dir),
    entry: 'dist/index.js',
    env: {
      ...baseEnv(),
      AIRMCP_GATEWAY_PORT: String(plan.gateway.port),
      AIRMCP_GATEWAY_HOST: LOCAL,
      AIRMCP_GATEWAY_PORT_MAP: portMap,
      AIRMCP_SUPERVISED: '1',
    },
    healthUrl: `http://${LOCAL}:${plan.gateway.port}/health`,
    ipc: true,
  }
}

export interface RunningFleet {
  supervisor: Supervisor
  gatewayUrl: string
  /** Tells the gateway to reconnect a pool (its server restarted or was rebuilt). */
  reconnect(pool: string): Promise<void>
  /** Hands the gateway a new registration set (after `add server` / `gateway sync` and a rebuild). */
  setRegistrations(registrations: Registration[]): Promise<{ added: string[]; removed: string[]; changed: string[] }>
  /** Writes `.airmcp/fleet.json` for `airmcp status` (again after the servers changed). */
  saveState(): void
  stop(): Promise<void>
}

/**
 * `start` and `dev`: launches the fleet under a new supervisor that the first Ctrl-C or SIGTERM stops (a second
 * one kills). `stopped` settles once a signal has stopped it; undefined when a signal came during the launch.
 */
export async function superviseFleet(
  plan: FleetPlan,
  output: PrefixedOutput,
  mode: 'start' | 'dev',
  onStopping: () => void = () => {},
): Promise<{ fleet: RunningFleet; supervisor: Supervisor; stopped: Promise<void> } | undefined> {
  const supervisor = new Supervisor(output)
  const label = mode === 'dev' ? 'dev' : 'airmcp'
  let signalled = false
  const stopped = untilSignal(
    async () => {
      signalled = true
      onStopping()
      output.line(label, 'stopping…', 'stderr')
      await supervisor.stopAll()
    },
    () => supervisor.killAll(),
  )
  try {
    return { fleet: await launchFleet(plan, supervisor, output, mode), supervisor, stopped }
  } catch (error) {
    if (!signalled) throw error
    await stopped
    return undefined
  }
}

/**
 * Starts the networked servers (in parallel, each ready by its `/health`), then the gateway, under one
 * supervisor. A child that fails before it is ready stops everything and throws one clear error.
 */
export async function launchFleet(
  plan: FleetPlan,
  supervisor: Supervisor,
  output: PrefixedOutput,
  mode: 'start' | 'dev',
): Promise<RunningFleet> {
  await checkPorts(plan, mode)
  const gatewayUrl = `http://${LOCAL}:${plan.gateway.port}/mcp`
  const fleet: RunningFleet = {
    supervisor,
    gatewayUrl,
    async reconnect(pool) {
      await supervisor.request('gateway', { airmcp: 'reconnect', pool })
    },
    async setRegistrations(registrations) {
      return (await supervisor.request('gateway', { airmcp: 'registrations', registrations, portMap: plan.portMap })) as never
    },
    saveState() {
      writeFleetState(plan.root, {
        pid: process.pid,
        mode,
        gateway: { url: gatewayUrl, port: plan.gateway.port, pid: supervisor.pid('gateway') },
        servers: plan.servers.map((s) => ({ name: s.name, transport: s.transport, port: s.port, pid: supervisor.pid(s.name) })),
      })
    },
    async stop() {
      await supervisor.stopAll()
      removeFleetState(plan.root)
    },
  }
  supervisor.onRestarted = (name) => {
    fleet.saveState()
    if (name === 'gateway') return
    fleet.reconnect(name).catch((error: Error) => output.line('airmcp', `could not reconnect "${name}" in the gateway: ${error.message}`, 'stderr'))
  }
  try {
    await Promise.all(plan.servers.map((member) => supervisor.start(serverSpec(plan, member))))
    await supervisor.start(gatewaySpec(plan))
  } catch (error) {
    await fleet.stop()
    if (error instanceof StartupError) {
      throw new AirmcpError(
        'STARTUP_FAILED',
        `${error.child === 'gateway' ? 'The gateway' : `Server "${error.child}"`} ${error.message.replace(/^"[^"]*" /, '')}`,
        `fix it (its output is above) and run airmcp ${mode} again.`,
      )
    }
    throw error
  }
  fleet.saveState()
  return fleet
}
