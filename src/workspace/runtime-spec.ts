import { execFile } from 'node:child_process'
import { defaultRuntimeSpec, PACKAGE_ROOT, PACKAGE_VERSION } from './root.js'

/** `file:` link to the package this CLI runs from. */
export const localRuntimeSpec = (): string => `file:${PACKAGE_ROOT.replace(/[\\/]$/, '')}`

/**
 * Asks the registry (one `npm view`) whether it has `airmcp@spec`: 'missing' on E404, 'found', or
 * 'unknown' when it cannot tell (offline, another registry error).
 */
export function lookUpRuntime(spec: string, timeoutMs = 15_000): Promise<'found' | 'missing' | 'unknown'> {
  return new Promise((resolve) => {
    execFile('npm', ['view', `airmcp@${spec}`, 'version', '--json'], { timeout: timeoutMs, shell: process.platform === 'win32' }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout.trim() ? 'found' : 'missing')
      resolve(/E404|404 Not Found/.test(`${stdout}${stderr}`) ? 'missing' : 'unknown')
    })
  })
}

/**
 * How a new workspace depends on airmcp. Installed from the registry: `^version`. Running from a checkout:
 * a `file:` link. Installed from a packed tarball (`npm i -g ./airmcp-x.y.z.tgz`), which leaves no trace of
 * where it came from: `^version` would fail with E404, so when the registry says it has no such version
 * the workspace links this CLI's own package instead.
 */
export async function chooseRuntimeSpec(note: (message: string) => void): Promise<string> {
  const spec = defaultRuntimeSpec()
  if (spec.startsWith('file:')) return spec
  if ((await lookUpRuntime(spec)) !== 'missing') return spec
  const local = localRuntimeSpec()
  note(`airmcp@${spec} is not on the registry (this CLI ${PACKAGE_VERSION} is an unpublished install): the workspace links "${local}". Use --runtime to choose.`)
  return local
}
