import type { Registration } from '../types.js'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

/**
 * The variable that moves one pool's upstream URL: `AIRMCP_UPSTREAM_<NAME>_URL`, NAME being the
 * registration's `name` upper-cased with every character outside `[A-Z0-9]` turned into `_`
 * (`search` → `AIRMCP_UPSTREAM_SEARCH_URL`, `web-tools` → `AIRMCP_UPSTREAM_WEB_TOOLS_URL`).
 */
export function upstreamUrlVariable(name: string): string {
  return `AIRMCP_UPSTREAM_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`
}

function isLoopbackUrl(url: string): boolean {
  try {
    const { hostname } = new URL(url)
    return LOOPBACK_HOSTS.has(hostname) || hostname.startsWith('127.')
  } catch {
    return false
  }
}

/**
 * One gateway source for every place: a registration written for this machine (an SSE/HTTP URL on
 * localhost) is pointed elsewhere when `AIRMCP_UPSTREAM_<NAME>_URL` is set in `env` (the gateway's, read by
 * config/environment.ts), as container deployments do (`http://search:3510`). Registrations on other hosts
 * and stdio ones are never moved.
 */
export function withUpstreamOverride(registration: Registration, env: Readonly<Record<string, string | undefined>>): Registration {
  const connection = registration.connection
  if (connection.type === 'stdio' || !isLoopbackUrl(connection.url)) return registration
  const variable = upstreamUrlVariable(registration.name)
  const override = env[variable]
  if (!override) return registration
  if (!/^https?:\/\/[^/]/.test(override) || !URL.canParse(override)) {
    throw new TypeError(`${variable}="${override}" is not a URL. Try this: ${variable}=http://${registration.name}:3510`)
  }
  return { ...registration, connection: { ...connection, url: override } }
}
