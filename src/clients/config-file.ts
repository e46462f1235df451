import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

/** `<path>.airmcp-backup-2026-11-25T15-30-00-000Z`: a copy taken before we change a file. */
export function backupFile(path: string, now = new Date()): string | undefined {
  if (!existsSync(path)) return undefined
  const backup = `${path}.airmcp-backup-${now.toISOString().replace(/:/g, '-').replace('.', '-')}`
  copyFileSync(path, backup)
  return backup
}

/** Writes through a temp file and a rename, keeping the file's mode; creates missing folders. */
export function writeAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true })
  const temp = `${path}.airmcp-${process.pid}.tmp`
  writeFileSync(temp, content, { mode: existsSync(path) ? statSync(path).mode : 0o644 })
  renameSync(temp, path)
}
