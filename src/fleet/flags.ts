import { Flags } from '@oclif/core'
import type { PortChoice } from './plan.js'

/** Port flags shared by `start` and `dev`: run two workspaces side by side, or on free ports (tests). */
export const portFlags = {
  'port-offset': Flags.integer({
    description: 'Add N to every port (servers and gateway): run a second workspace beside the first.',
    exclusive: ['free-ports'],
  }),
  'free-ports': Flags.boolean({
    description: 'Run every server and the gateway on free ports chosen now (printed, and read by airmcp status).',
    exclusive: ['port-offset'],
  }),
}

export function portChoice(flags: { 'port-offset'?: number; 'free-ports'?: boolean }): PortChoice {
  if (flags['free-ports']) return { mode: 'free' }
  if (flags['port-offset'] !== undefined) return { mode: 'offset', offset: flags['port-offset'] }
  return { mode: 'declared' }
}

/**
 * Resolves on the first SIGINT/SIGTERM (after `stop` ran); a second Ctrl-C while stopping runs `force`.
 */
export function untilSignal(stop: () => Promise<void>, force: () => void): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false
    const onSignal = () => {
      if (stopping) {
        force()
        return
      }
      stopping = true
      void stop().finally(() => {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        resolve()
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
