import { get } from 'node:http'
import { AirmcpError } from '../errors.js'
import { findWorkspaceRoot } from '../workspace/root.js'
import { readFleetState } from './state.js'

/** One server as the gateway reports it on `/health`. */
export interface ServerStatus {
  id: string
  name: string
  transport: string
  status: string
  /** Why its connection is down (cleared when it connects again). */
  lastError?: string
  /** Its last failed call: message (absent behind a token) and ISO time. */
  lastCallError?: { message?: string; at: string }
  calls?: number
  errors?: number
  medianMs?: number
  tools?: string[]
}

/** One server as `airmcp status --json` gives it: `lastError` is its last failed call, `connectionError` why it is down. */
export type StatusRow = Omit<ServerStatus, 'lastError' | 'lastCallError'> & {
  lastError: { message?: string; at: string } | null
  connectionError?: string
}

/** The `--json` form of a server's status. */
export function statusRow({ lastError, lastCallError, ...server }: ServerStatus): StatusRow {
  return { ...server, lastError: lastCallError ?? null, ...(lastError ? { connectionError: lastError } : {}) }
}

/** A tool or prompt the gateway holds back because it differs from airmcp.lock. */
export interface QuarantinedItem {
  server: string
  kind: string
  name: string
  reason: string
}

export interface GatewayStatus {
  gateway: string
  status: string
  servers: ServerStatus[]
  quarantined: QuarantinedItem[]
}

/** Reads `GET <base>/health` (with the gateway's token when it has one). */
export function fetchHealth(base: string, token?: string, timeoutMs = 5000): Promise<GatewayStatus> {
  const url = new URL('/health', base)
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: timeoutMs, headers: token ? { authorization: `Bearer ${token}` } : {} }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => (body += chunk))
      response.on('end', () => {
        if (response.statusCode === 401 || response.statusCode === 403) return reject(gatewayUnauthorized(url.origin, '/health'))
        try {
          const health = JSON.parse(body) as { status?: string; servers?: ServerStatus[]; quarantined?: QuarantinedItem[] }
          if (!Array.isArray(health.servers)) throw new Error('no servers in the answer')
          const quarantined = Array.isArray(health.quarantined) ? health.quarantined : []
          resolve({ gateway: url.origin, status: health.status ?? 'unknown', servers: health.servers, quarantined })
        } catch (error) {
          reject(new AirmcpError('NOT_A_GATEWAY', `${url.href} did not answer like an airmcp gateway (${(error as Error).message}).`, 'pass the gateway with --url http://127.0.0.1:4000.'))
        }
      })
    })
    request.once('timeout', () => request.destroy(new Error('timed out')))
    request.once('error', (error) => reject(gatewayNotRunning(url.origin, (error as NodeJS.ErrnoException).code ?? error.message)))
  })
}

/** Nothing listens where the gateway should be. */
export function gatewayNotRunning(origin: string, cause: string): AirmcpError {
  return new AirmcpError('GATEWAY_NOT_RUNNING', `No gateway answers at ${origin} (${cause}).`, 'start the workspace: airmcp dev (or airmcp start), or pass --url.')
}

/** The gateway wants a bearer token we do not have (or not this one). */
export function gatewayUnauthorized(origin: string, what: string): AirmcpError {
  return new AirmcpError('UNAUTHORIZED', `The gateway at ${origin} refused ${what} without the right token.`, 'pass --token, or set AIRMCP_GATEWAY_TOKEN.')
}

/** The base URL of this workspace's gateway: the running fleet's (`.airmcp/fleet.json`), else AIRMCP_GATEWAY_PORT, else the port in its source. */
export async function workspaceGateway(): Promise<string> {
  const root = findWorkspaceRoot()
  const running = readFleetState(root)
  if (running) return new URL(running.gateway.url).origin
  if (process.env.AIRMCP_GATEWAY_PORT) return `http://127.0.0.1:${process.env.AIRMCP_GATEWAY_PORT}`
  const { readWorkspace, DEFAULT_GATEWAY_PORT } = await import('../workspace/index.js')
  return `http://127.0.0.1:${(await readWorkspace(root)).gateway?.port ?? DEFAULT_GATEWAY_PORT}`
}

/** A connection that is down says why; else the last failed call, with its local time, on one line. */
function lastErrorCell(server: ServerStatus): string {
  if (server.lastError) return server.lastError
  const last = server.lastCallError
  if (!last) return ''
  const message = last.message?.replace(/\s+/g, ' ').trim() ?? "(the gateway's token hides the message)"
  return `${clockTime(new Date(last.at))} ${message.length > 120 ? `${message.slice(0, 119)}…` : message}`
}

/** HH:MM:SS in local time. */
export function clockTime(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
}

/** Rows of cells as lines, each column as wide as its widest cell (the last one left as it is). */
export function alignedColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)))
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ').trimEnd())
}

/** The table `airmcp status` prints: one row per registration. */
export function statusTable(status: GatewayStatus): string[] {
  const rows = [
    ['SERVER', 'ID', 'TRANSPORT', 'STATUS', 'CALLS', 'ERRORS', 'MEDIAN', 'LAST ERROR'],
    ...status.servers.map((s) => [
      s.name,
      s.id,
      s.transport,
      s.status,
      String(s.calls ?? 0),
      String(s.errors ?? 0),
      s.medianMs === undefined || s.medianMs === null ? '-' : `${s.medianMs} ms`,
      lastErrorCell(s),
    ]),
  ]
  const held = status.quarantined ?? []
  return [
    `Gateway ${status.gateway}: ${status.status}, ${status.servers.length} server${status.servers.length === 1 ? '' : 's'}`,
    ...alignedColumns(rows),
    // Held back by airmcp.lock: said after the table, so a reviewer sees what clients cannot reach and why.
    ...(held.length ? ['', `Held back by airmcp.lock (${held.length}):`, ...held.map((h) => `  ${h.server} ${h.kind} "${h.name}": ${h.reason}`)] : []),
  ]
}
