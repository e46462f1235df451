import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { runCli } from './cli.js'

const temps: string[] = []

/** `airmcp new ws --example` without installing; a lockfile stands in for npm install's. */
export async function deployWorkspace(runtime = '^0.1.0'): Promise<string> {
  const cwd = tempDir('airmcp-deploy-')
  const created = await runCli(['new', 'ws', '--example', '--yes', '--no-install', '--no-git', '--runtime', runtime], { cwd })
  expect(created.code, created.stderr).toBe(0)
  const dir = join(cwd, 'ws')
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'ws', lockfileVersion: 3, packages: {} }))
  return dir
}

/** A temp folder removed by removeTempDirs(). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  temps.push(dir)
  return dir
}

export function removeTempDirs(): void {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export const readIn = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8')
