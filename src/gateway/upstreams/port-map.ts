import type { Connection } from '../types.js'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * Parses `AIRMCP_GATEWAY_PORT_MAP` (`3510=41001,3511=41002`): a supervisor (`airmcp start --port-offset`,
 * `--free-ports`) moved the workspace's servers, and the gateway follows them without its source changing.
 */
export function parsePortMap(text: string | undefined): Map<number, number> {
  const map = new Map<number, number>()
  for (const pair of (text ?? '').split(',')) {
    const [from, to] = pair.split('=').map((part) => Number(part.trim()))
    if (Number.isInteger(from) && Number.isInteger(to) && from > 0 && to > 0) map.set(from, to)
  }
  return map
}

/** The connection with a loopback URL's port moved as the map says; any other connection as it is. */
export function remapConnection(connection: Connection, map: ReadonlyMap<number, number>): Connection {
  if (connection.type === 'stdio' || map.size === 0) return connection
  let url: URL
  try {
    url = new URL(connection.url)
  } catch {
    return connection
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const moved = map.get(port)
  if (!LOOPBACK.has(url.hostname) || moved === undefined) return connection
  url.port = String(moved)
  return { ...connection, url: url.toString() }
}
