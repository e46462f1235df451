import { AirmcpError } from './errors.js'

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i
const RESERVED = new Set(['node_modules', 'favicon.ico'])
const MAX_LENGTH = 214

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
  if (RESERVED.has(dirName)) fail(`"${dirName}" is reserved`)
  if (WINDOWS_RESERVED.test(dirName)) fail(`"${dirName}" is a reserved device name on Windows`)
  return { packageName: name, dirName }
}

/** Checks a server or tool name used in paths and identifiers. */
export function validateServerName(name: string): void {
  if (!/^[a-z][a-z0-9-]{0,49}$/.test(name ?? '') || WINDOWS_RESERVED.test(name) || RESERVED.has(name)) {
    throw new AirmcpError(
      'INVALID_NAME',
      `Invalid server name "${name}".`,
      'start with a lowercase letter, then lowercase letters, digits or "-" (at most 50), like search.',
    )
  }
}
