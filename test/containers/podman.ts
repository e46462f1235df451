import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '../helpers/processes.js'

const run = promisify(execFile)

/** The base image `.ci/containers.sh` builds from this machine's Node (no registry is reachable here). */
export const BASE_IMAGE = process.env.AIRMCP_TEST_NODE_IMAGE ?? `localhost/airmcp-node:${process.versions.node}`

/** Why the container suite cannot run here, or undefined when podman and podman-compose are installed. */
export function missingTools(): string | undefined {
  for (const tool of ['podman', 'podman-compose']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) return `${tool} is not installed`
  }
  return undefined
}

/** Makes sure the base image exists (the script is idempotent and quick once set up). */
export function ensureBaseImage(): void {
  if (spawnSync('podman', ['image', 'exists', BASE_IMAGE]).status === 0) return
  execFileSync(join(ROOT, '.ci/containers.sh'), [BASE_IMAGE], { stdio: ['ignore', 'ignore', 'inherit'] })
}

/** Runs a command; rejects with its output when it fails. */
export async function sh(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      maxBuffer: 64 * 1024 * 1024,
    })
    return stdout + stderr
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`)
  }
}

/** Removes every container and the network of a podman-compose project, ignoring what is already gone. */
export async function removeProject(project: string): Promise<void> {
  const ids = (await sh('podman', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).catch(() => ''))
    .split('\n')
    .filter(Boolean)
  if (ids.length) await sh('podman', ['rm', '-f', '-t', '2', ...ids]).catch(() => '')
  // podman-compose 1.0.3 leaves its network behind on `down`.
  await sh('podman', ['network', 'rm', '-f', `${project}_default`]).catch(() => '')
}
