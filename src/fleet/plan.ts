import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { AirmcpError } from '../errors.js'
import { DEFAULT_GATEWAY_PORT, type Workspace } from '../workspace/index.js'
import { freePort } from './ports.js'

/** How `start`/`dev` place the fleet: the ports in the sources, all of them shifted, or free ones. */
export type PortChoice = { mode: 'declared' } | { mode: 'offset'; offset: number } | { mode: 'free' }

/** One process the supervisor runs: a networked server, or the gateway. */
export interface FleetMember {
  name: string
  kind: 'server' | 'gateway'
  /** Relative to the workspace root: `servers/search`, `gateway`. */
  dir: string
  transport: 'sse' | 'http' | 'gateway'
  /** The port its source declares. */
  declaredPort: number
  /** The port it runs on. */
  port: number
}

export interface FleetPlan {
  root: string
  servers: FleetMember[]
  /** stdio servers: the gateway launches them (`servers/NAME`). */
  stdio: { name: string; dir: string }[]
  gateway: FleetMember
  /** Declared → actual port of every moved server, for the gateway (AIRMCP_GATEWAY_PORT_MAP). */
  portMap: Record<string, number>
}

function shifted(port: number, offset: number, what: string): number {
  const moved = port + offset
  if (moved < 1 || moved > 65535) {
    throw new AirmcpError('BAD_PORT_OFFSET', `--port-offset ${offset} moves ${what} from ${port} to ${moved}, outside 1–65535.`, 'choose a smaller offset.')
  }
  return moved
}

/** Where a port declared in the sources runs under this choice. */
export async function placePort(choice: PortChoice, declared: number, what: string): Promise<number> {
  return choice.mode === 'free' ? freePort() : choice.mode === 'offset' ? shifted(declared, choice.offset, what) : declared
}

/** Decides every port of the workspace's fleet (its servers, transports and the gateway's port, from the model). */
export async function planFleet(workspace: Workspace, choice: PortChoice, env = process.env): Promise<FleetPlan> {
  const place = (declared: number, what: string) => placePort(choice, declared, what)
  const networked: FleetMember[] = []
  const portMap: Record<string, number> = {}
  for (const server of workspace.servers) {
    if (server.transport.type === 'stdio') continue
    const port = await place(server.transport.port, `server "${server.name}"`)
    if (port !== server.transport.port) portMap[server.transport.port] = port
    networked.push({ name: server.name, kind: 'server', dir: server.dir, transport: server.transport.type, declaredPort: server.transport.port, port })
  }
  const fromEnv = env.AIRMCP_GATEWAY_PORT ? Number(env.AIRMCP_GATEWAY_PORT) : undefined
  if (fromEnv !== undefined && (!Number.isInteger(fromEnv) || fromEnv < 0 || fromEnv > 65535)) {
    throw new AirmcpError('BAD_PORT', `AIRMCP_GATEWAY_PORT=${env.AIRMCP_GATEWAY_PORT} is not a port.`, 'set a number from 1 to 65535, or unset it.')
  }
  const declaredGateway = workspace.gateway?.port ?? DEFAULT_GATEWAY_PORT
  const gatewayPort = fromEnv === undefined ? await place(declaredGateway, 'the gateway') : fromEnv === 0 ? await freePort() : fromEnv
  return {
    root: workspace.root,
    servers: networked,
    stdio: workspace.servers.filter((s) => s.transport.type === 'stdio').map((s) => ({ name: s.name, dir: s.dir })),
    gateway: { name: 'gateway', kind: 'gateway', dir: 'gateway', transport: 'gateway', declaredPort: declaredGateway, port: gatewayPort },
    portMap,
  }
}

/** Every package the fleet runs, servers first and the gateway last (what gets built and checked for staleness). */
export function packageDirs(plan: FleetPlan): string[] {
  return [...plan.servers.map((s) => s.dir), ...plan.stdio.map((s) => s.dir), plan.gateway.dir]
}

/** Refuses to start what is not built: every networked server, every stdio server and the gateway. */
export function checkBuilt(plan: FleetPlan): void {
  for (const dir of packageDirs(plan)) {
    if (!existsSync(join(plan.root, dir, 'dist/index.js'))) {
      throw new AirmcpError('NOT_BUILT', `"${dir}/dist/index.js" does not exist.`, 'build first: npm run build (or run airmcp dev, which builds and watches).')
    }
  }
}
