import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ClientTarget, GatewayEntry, Scope } from './types.js'
import { AirmcpError } from '../errors.js'
import { PACKAGE_ROOT, findWorkspaceRoot } from '../workspace/root.js'

export interface EntryOptions {
  transport: 'http' | 'stdio'
  host: string
  port: number
}

/** The server name under which we register: the workspace's name (unscoped), else "airmcp". */
export function defaultName(cwd = process.cwd()): string {
  try {
    const root = findWorkspaceRoot(cwd)
    const name = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name as string | undefined
    return name?.replace(/^@[^/]+\//, '') || 'airmcp'
  } catch {
    return 'airmcp'
  }
}

/**
 * What the client should run or reach. `http` is the gateway's URL, or for clients that only launch
 * commands `airmcp bridge <url>`; `stdio` launches the workspace's gateway in stdio mode. Commands use
 * absolute paths to node and scripts: desktop apps do not inherit the shell's PATH or nvm.
 */
export function gatewayEntry(target: ClientTarget, options: EntryOptions, cwd = process.cwd()): GatewayEntry {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  const url = `http://${host}:${options.port}/mcp`
  if (options.transport === 'http') return target.remote ? { kind: 'http', url } : bridgeEntry(url)
  const gateway = join(findWorkspaceRoot(cwd), 'gateway/dist/index.js')
  if (!existsSync(gateway)) {
    throw new AirmcpError('NOT_BUILT', `"${gateway}" does not exist; the client would launch nothing.`, 'build the workspace first: npm run build')
  }
  return { kind: 'stdio', command: process.execPath, args: [gateway, '--stdio'] }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** `airmcp bridge <url>`, for clients that only launch commands; it logs in to a protected server (OAuth) itself. */
function bridgeEntry(url: string): GatewayEntry {
  return { kind: 'stdio', command: process.execPath, args: [join(PACKAGE_ROOT, 'bin/run.js'), 'bridge', url] }
}

/**
 * A remote server's entry, for clients that reach a URL and log in to it themselves (OAuth); a client that
 * only launches commands gets `airmcp bridge <url>`, which logs in for it.
 */
export function remoteEntry(target: ClientTarget, raw: string): GatewayEntry {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new AirmcpError('INVALID_URL', `"${raw}" is not a URL.`, 'give the server\'s full address: --url https://mcp.example.com/mcp')
  }
  // OAuth tokens must not travel in the clear: http:// only to this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new AirmcpError('INVALID_URL', `"${raw}" is not an https:// URL.`, 'use the server\'s https address (http:// only for localhost): --url https://mcp.example.com/mcp')
  }
  if (url.username || url.password) {
    throw new AirmcpError('INVALID_URL', 'The URL carries a user name or password.', 'give the URL without credentials; the client logs in itself.')
  }
  return target.remote ? { kind: 'http', url: url.href } : bridgeEntry(url.href)
}

export function checkScope(target: ClientTarget, scope: Scope | undefined): Scope {
  const chosen = scope ?? target.defaultScope
  if (!target.scopes.includes(chosen)) {
    throw new AirmcpError('INVALID_SCOPE', `${target.label} has no ${chosen} config.`, `use --scope ${target.scopes.join(' or ')}.`)
  }
  return chosen
}
