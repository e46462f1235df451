import { stopWithSupervisor } from '../../runtime/program.js'
import type { Registration } from '../types.js'

/** What `airmcp start` / `airmcp dev` may ask of a gateway it runs (over the IPC channel of the child). */
export type SupervisorRequest =
  | { airmcp: 'reconnect'; seq: number; pool: string }
  | { airmcp: 'registrations'; seq: number; registrations: Registration[]; portMap: Record<string, number> }

export interface SupervisedGateway {
  reconnectPool(pool: string): Promise<string[]>
  applyRegistrations(registrations: Registration[], portMap: Record<string, number>): Promise<unknown>
  stop(): Promise<void>
}

/**
 * Serves a supervisor's requests when the gateway runs as its child (`supervised`, from `AIRMCP_SUPERVISED=1`,
 * and an IPC channel): only the parent process can send them, so nothing is exposed on the network. When the parent
 * goes away (even killed with SIGKILL) the channel closes and the gateway stops: no orphan keeps the port.
 */
export function attachSupervisor(supervised: boolean, gateway: SupervisedGateway): void {
  if (!process.send || !supervised) return
  const reply = (seq: number, body: Record<string, unknown>) => {
    if (process.connected) process.send!({ airmcp: 'reply', seq, ...body })
  }
  process.on('message', (message: SupervisorRequest) => {
    if (!message || typeof message !== 'object') return
    const work =
      message.airmcp === 'reconnect'
        ? gateway.reconnectPool(message.pool)
        : message.airmcp === 'registrations'
          ? gateway.applyRegistrations(message.registrations, message.portMap)
          : undefined
    work?.then(
      (result) => reply(message.seq, { result }),
      (error: unknown) => reply(message.seq, { error: error instanceof Error ? error.message : String(error) }),
    )
  })
  stopWithSupervisor(() => gateway.stop(), supervised)
}
