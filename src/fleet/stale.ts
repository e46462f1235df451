import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

/** The newest file under `dir` (skipping node_modules and dist), with its modification time. */
function newestFile(dir: string): { path: string; mtimeMs: number } | undefined {
  let newest: { path: string; mtimeMs: number } | undefined
  let entries: import('node:fs').Dirent[]
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return undefined
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue
    const path = join(dir, entry.name)
    const candidate = entry.isDirectory() ? newestFile(path) : { path, mtimeMs: statSync(path).mtimeMs }
    if (candidate && (!newest || candidate.mtimeMs > newest.mtimeMs)) newest = candidate
  }
  return newest
}

/**
 * Packages whose `dist/index.js` is older than a file of their `src/`, as lines naming both, e.g. after
 * `airmcp add server docs` without a rebuild the gateway would run without the new registration.
 */
export function staleBuilds(root: string, dirs: string[]): string[] {
  const stale: string[] = []
  for (const dir of dirs) {
    let built: number
    try {
      built = statSync(join(root, dir, 'dist/index.js')).mtimeMs
    } catch {
      continue
    }
    const source = newestFile(join(root, dir, 'src'))
    if (source && source.mtimeMs > built) stale.push(`${dir}/dist is older than ${relative(root, source.path)}`)
  }
  return stale
}
