// An app server made the way a user makes one: `airmcp new`, `airmcp add server dash --preset app`,
// `airmcp add tool dash chart --ui`, `airmcp add tool dash crunch --task`, then
// compiled against this package (as the workspace would be after npm install; installing is too slow here).
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { Registration } from 'airmcp/gateway'
import { runCli } from '../helpers/cli.js'
import { ROOT } from '../helpers/processes.js'

/** The workspace folder, with servers/dash (its tools show_dashboard, get_stats, chart and crunch) built to dist/. */
export async function scaffoldAppServer(): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), 'airmcp-app-'))
  const created = await runCli(['new', 'ws', '--yes', '--no-install', '--no-git'], { cwd })
  expect(created.code, created.stderr).toBe(0)
  const dir = join(cwd, 'ws')
  const added = await runCli(['add', 'server', 'dash', '--preset', 'app', '--json'], { cwd: dir })
  expect(added.code, added.stderr).toBe(0)
  const tool = await runCli(['add', 'tool', 'dash', 'chart', '--ui', '--param', 'days:number?'], { cwd: dir })
  expect(tool.code, tool.stderr).toBe(0)
  const task = await runCli(['add', 'tool', 'dash', 'crunch', '--task', '--param', 'size:number?'], { cwd: dir })
  expect(task.code, task.stderr).toBe(0)
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true })
  symlinkSync(ROOT, join(dir, 'node_modules/airmcp'))
  symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'))
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'servers/dash'], { cwd: dir })
  return dir
}

/** The built app server as a gateway registration (stdio, as the workspace's gateway launches it). */
export function appRegistration(dir: string, extra: Partial<Registration> = {}): Registration {
  return { id: 'dash-1', name: 'dash', connection: { type: 'stdio', command: 'node', args: ['dist/index.js'], cwd: join(dir, 'servers/dash') }, ...extra } as Registration
}
