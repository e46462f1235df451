/**
 * The naming rules of airmcp in one place: the runtime, the gateway, the tool-spec schema and the
 * generators all check names against these. This module imports nothing, so any layer may use it.
 */

/** MCP's rule for tool and prompt names: 1-64 letters, digits, "_" or "-". */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/
export const TOOL_NAME_RULE = '1-64 letters, digits, "_" or "-"'

/** A server name: a folder under servers/, a package name and an identifier part. */
export const SERVER_NAME = /^[a-z][a-z0-9-]{0,49}$/
export const SERVER_NAME_RULE = 'start with a lowercase letter, then lowercase letters, digits or "-" (at most 50)'

/** A JavaScript identifier (tool parameter names). */
export const IDENTIFIER = /^[a-zA-Z_$][a-zA-Z0-9_$]*$/

/** The parameter types a tool spec, `add tool --param` and `defineTool` accept. */
export const PARAM_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'] as const
export type ParamTypeName = (typeof PARAM_TYPES)[number]

/** Host names that mean "this machine" (as they appear in a URL or a Host header). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

/**
 * True for names that can only mean this machine: `localhost`, the IPv6 loopback and an IPv4 literal in
 * 127.0.0.0/8 written as four decimal octets. `127.0.0.1.evil.example` is a DNS name anyone can point
 * anywhere, so it is not loopback (the DNS-rebinding guard depends on this).
 */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '')
  if (LOOPBACK_HOSTS.has(name)) return true
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name)
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255) && Number(octets[1]) === 127
}

/** Names a server cannot take: the gateway's package and names npm or Windows reserve. */
export const RESERVED_SERVER_NAMES: ReadonlySet<string> = new Set(['gateway', 'node_modules', 'favicon.ico'])
export const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i

/** The lowest port a server may take: below it the OS asks for privileges. */
export const FIRST_UNPRIVILEGED_PORT = 1024
