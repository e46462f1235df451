import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/** Every file under a folder, relative path → content. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>()
  if (!existsSync(dir)) return files
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const full = join(entry.parentPath, entry.name)
    files.set(relative(dir, full), readFileSync(full, 'utf8'))
  }
  return files
}

/** One hash of a folder's paths and contents. */
export function hashTree(dir: string): string {
  const hash = createHash('sha256')
  for (const [path, content] of [...readTree(dir)].sort(([a], [b]) => a.localeCompare(b))) hash.update(`${path}\0${content}\0`)
  return hash.digest('hex')
}
