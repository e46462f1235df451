import { AirmcpError } from '../errors.js'
import { RESERVED_SERVER_NAMES, SERVER_NAME, SERVER_NAME_RULE, TOOL_NAME, TOOL_NAME_RULE, WINDOWS_RESERVED } from '../names.js'

const MAX_LENGTH = 214
const RESERVED_PACKAGE_NAMES = new Set(['node_modules', 'favicon.ico'])

/**
 * Checks a workspace name against npm's package-name rules and the file system's; returns the folder
 * name (the part after the scope).
 */
export function validateWorkspaceName(name: string): { packageName: string; dirName: string } {
  const fail = (why: string): never => {
    throw new AirmcpError(
      'INVALID_NAME',
      `Invalid workspace name "${name}": ${why}.`,
      'use lowercase letters, digits and "-", like my-platform (or @scope/my-platform).',
    )
  }
  if (!name || !name.trim()) fail('it is empty')
  if (name.length > MAX_LENGTH) fail(`it is ${name.length} characters long (npm allows ${MAX_LENGTH})`)
  const scoped = /^@([^/]+)\/([^/]+)$/.exec(name)
  if (name.includes('/') && !scoped) fail('a slash is only allowed in a scope like @scope/name')
  const dirName = scoped ? scoped[2] : name
  for (const part of scoped ? [scoped[1], scoped[2]] : [name]) {
    if (part !== part.toLowerCase()) fail('it has uppercase letters')
    if (/\s/.test(part)) fail('it has spaces')
    if (/^[._]/.test(part)) fail('it starts with "." or "_"')
    if (!/^[a-z0-9][a-z0-9._~-]*$/.test(part)) fail('it has characters npm does not allow')
  }
  if (RESERVED_PACKAGE_NAMES.has(dirName)) fail(`"${dirName}" is reserved`)
  if (WINDOWS_RESERVED.test(dirName)) fail(`"${dirName}" is a reserved device name on Windows`)
  return { packageName: name, dirName }
}

/** Checks a server name used in paths, package names and identifiers. */
export function validateServerName(name: string): void {
  if (!SERVER_NAME.test(name ?? '') || WINDOWS_RESERVED.test(name)) {
    throw new AirmcpError('INVALID_NAME', `Invalid server name "${name}".`, `${SERVER_NAME_RULE}, like search.`)
  }
  if (RESERVED_SERVER_NAMES.has(name)) {
    throw new AirmcpError(
      'RESERVED_NAME',
      `Server name "${name}" is reserved: the workspace's gateway package has it.`,
      `choose another name, like ${name}-server.`,
    )
  }
}

/** Checks a tool name against MCP's rule. */
export function validateToolName(name: string): void {
  if (!TOOL_NAME.test(name ?? '')) throw new AirmcpError('INVALID_TOOL', `Invalid tool name "${name}".`, `use ${TOOL_NAME_RULE}.`)
}
