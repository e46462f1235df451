import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AirmcpError } from '../errors.js'

/** What a running `airmcp start`/`dev` tells other commands (`status`): where the gateway and servers are. */
export interface FleetState {
  pid: number
  mode: 'start' | 'dev'
  gateway: { url: string; port: number; pid?: number }
  servers: { name: string; transport: string; port: number; pid?: number }[]
}

const statePath = (root: string) => join(root, '.airmcp/fleet.json')

export function writeFleetState(root: string, state: FleetState): void {
  mkdirSync(join(root, '.airmcp'), { recursive: true })
  const temporary = `${statePath(root)}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(temporary, statePath(root))
}

/** The state of a supervisor that is still alive, else undefined. */
export function readFleetState(root: string): FleetState | undefined {
  try {
    const state = JSON.parse(readFileSync(statePath(root), 'utf8')) as FleetState
    process.kill(state.pid, 0)
    return state
  } catch {
    return undefined
  }
}

export function removeFleetState(root: string, pid = process.pid): void {
  try {
    const state = JSON.parse(readFileSync(statePath(root), 'utf8')) as FleetState
    if (state.pid === pid) rmSync(statePath(root), { force: true })
  } catch {
    // Nothing to remove.
  }
}

/**
 * Refuses to run a second `start`/`dev` where a live supervisor already runs, before anything is built or
 * started: it would rebuild the running fleet's dist/ and then fail on a taken port.
 */
export function refuseSecondFleet(root: string): void {
  const running = readFleetState(root)
  if (!running) return
  throw new AirmcpError(
    'ALREADY_RUNNING',
    `airmcp ${running.mode} is already running here (pid ${running.pid}).`,
    `stop it first (Ctrl-C in its terminal), or use it: its gateway serves ${running.gateway.url} (airmcp status lists its servers).`,
  )
}
