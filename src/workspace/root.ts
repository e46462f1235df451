import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AirmcpError } from '../errors.js'

/** This package's own folder and version. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version

/**
 * How a generated workspace depends on airmcp: `^version` when this CLI was installed from the registry
 * (it runs from a node_modules folder), else a `file:` link to the package it runs from.
 */
export function defaultRuntimeSpec(): string {
  return PACKAGE_ROOT.includes(`${sep}node_modules${sep}`) ? `^${PACKAGE_VERSION}` : `file:${PACKAGE_ROOT.replace(/[\\/]$/, '')}`
}

function isWorkspaceRoot(dir: string): boolean {
  const file = join(dir, 'package.json')
  if (!existsSync(file)) return false
  try {
    const workspaces = JSON.parse(readFileSync(file, 'utf8')).workspaces
    return Array.isArray(workspaces) && workspaces.includes('servers/*')
  } catch {
    return false
  }
}

/** The airmcp workspace containing `from` (a folder with a package.json whose workspaces hold `servers/*`). */
export function findWorkspaceRoot(from = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (isWorkspaceRoot(dir)) return dir
    if (dirname(dir) === dir) break
  }
  throw new AirmcpError(
    'NOT_IN_WORKSPACE',
    `"${resolve(from)}" is not inside an airmcp workspace (no package.json with workspaces ["servers/*", ...] above it).`,
    'cd into a workspace, or create one with: npx airmcp new my-platform',
  )
}

/** The workspace root containing `from`, or undefined outside any workspace. */
export function tryWorkspaceRoot(from = process.cwd()): string | undefined {
  try {
    return findWorkspaceRoot(from)
  } catch {
    return undefined
  }
}
