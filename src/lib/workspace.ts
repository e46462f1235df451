import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Tree } from '../tree/tree.js'
import { AirmcpError } from './errors.js'

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

export function readJson<T = Record<string, unknown>>(tree: Tree, path: string): T | undefined {
  const text = tree.read(path)
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as T
  } catch (error) {
    throw new AirmcpError('INVALID_JSON', `"${path}" is not valid JSON: ${(error as Error).message}`, `fix ${path}.`)
  }
}

export interface ServerEntry {
  name: string
  dir: string
  /** The `airmcp` field of the server's package.json: how it is served. */
  declared?: { type: 'stdio' | 'sse' | 'http'; port?: number; path?: string }
}

/** Every server folder under `servers/` (a folder with a package.json). */
export function listServers(tree: Tree): ServerEntry[] {
  return tree
    .children('servers')
    .filter((name) => tree.exists(`servers/${name}/package.json`))
    .map((name) => ({
      name,
      dir: `servers/${name}`,
      declared: readJson<{ airmcp?: ServerEntry['declared'] }>(tree, `servers/${name}/package.json`)?.airmcp,
    }))
}

/** The workspace's npm scope for its packages (`@my-platform/search`) and its airmcp dependency. */
export function workspaceInfo(tree: Tree): { scope: string; runtime: string; name: string } {
  const pkg = readJson<{ name?: string; devDependencies?: Record<string, string>; dependencies?: Record<string, string> }>(
    tree,
    'package.json',
  )
  const name = pkg?.name ?? 'workspace'
  const scope = name.replace(/^@[^/]+\//, '')
  const runtime = pkg?.devDependencies?.airmcp ?? pkg?.dependencies?.airmcp ?? defaultRuntimeSpec()
  return { scope, runtime, name }
}
