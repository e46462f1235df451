import type { Registration } from './gateway-file.js'
import { localTarget } from './gateway-file.js'
import type { ServerFiles, ServerTransport } from './servers.js'

/**
 * A server's standing in the gateway file: `registered` (a managed registration matches), `outdated`
 * (one exists but its port or transport differs), `unregistered` (none), `unknown` (no readable gateway).
 */
export type RegistrationStatus = 'registered' | 'outdated' | 'unregistered' | 'unknown'

/** How the gateway's registrations relate to the servers: what sync manages, leaves, and removes. */
export interface RegistrationMatch {
  /** Per server name: its managed registrations. */
  managed: Map<string, Registration[]>
  /** Managed registrations whose server folder is gone. */
  orphans: Registration[]
  /** Registrations sync leaves as written, with why. */
  skipped: { registration: Registration; reason: string }[]
}

/** The registration the gateway should have for a server (seed shape). */
export function desiredConnection(name: string, transport: ServerTransport): Record<string, unknown> {
  if (transport.type === 'stdio') return { type: 'stdio', command: 'node', args: [`../servers/${name}/dist/index.js`] }
  const path = transport.type === 'http' ? (transport.path ?? '/mcp') : ''
  return { type: transport.type, url: `http://localhost:${transport.port}${path}` }
}

/** True when a registration's connection reaches the server as `desiredConnection` would. */
export function sameConnection(current: Record<string, unknown>, desired: Record<string, unknown>): boolean {
  if (current.type !== desired.type && !(current.type === 'streamable-http' && desired.type === 'http')) return false
  if (desired.type === 'stdio') {
    return current.command === desired.command && JSON.stringify(current.args) === JSON.stringify(desired.args)
  }
  const a = localTarget(current)
  const b = localTarget(desired)
  if (a?.port !== b?.port) return false
  if (desired.type === 'http') return new URL(current.url as string).pathname === new URL(desired.url as string).pathname
  return true
}

/**
 * Sorts registrations: managed means provably local and ours — a localhost URL or a stdio command into
 * `servers/<name>`, with id `<name>-1`, at that server's port, or launching that server's folder.
 */
export function matchRegistrations(servers: ServerFiles[], registrations: Registration[]): RegistrationMatch {
  const byName = new Map(servers.map((s) => [s.name, s]))
  const match: RegistrationMatch = { managed: new Map(), orphans: [], skipped: [] }
  for (const reg of registrations) {
    const local = reg.local
    const server = byName.get(reg.name)
    if (!local) {
      match.skipped.push({ registration: reg, reason: 'not local (another host, or not a literal)' })
      continue
    }
    const ours = server
      ? reg.id === `${server.name}-1` ||
        (server.transport.type !== 'stdio' && local.port === server.transport.port) ||
        local.serverDir === server.name
      : reg.id === `${reg.name}-1` || (local.serverDir !== undefined && !byName.has(local.serverDir))
    if (!ours) {
      match.skipped.push({ registration: reg, reason: 'local, but not the registration sync manages' })
      continue
    }
    if (!server) match.orphans.push(reg)
    else match.managed.set(server.name, [...(match.managed.get(server.name) ?? []), reg])
  }
  return match
}

/** A server's status from its managed registrations. */
export function registrationStatus(server: ServerFiles, managed: Registration[] | undefined): RegistrationStatus {
  if (!managed?.length) return 'unregistered'
  const desired = desiredConnection(server.name, server.transport)
  return managed.every((reg) => sameConnection(reg.connection, desired)) ? 'registered' : 'outdated'
}
