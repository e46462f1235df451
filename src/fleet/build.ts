import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { AirmcpError } from '../errors.js'
import type { PrefixedOutput } from './output.js'

/** The workspace's own TypeScript compiler (the version its package.json asks for). */
export function findTsc(root: string): string {
  try {
    return createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
  } catch {
    throw new AirmcpError('NOT_INSTALLED', `No TypeScript compiler in "${root}/node_modules".`, 'install the workspace first: npm install')
  }
}

/**
 * Compiles packages (`servers/search`, `gateway`) with `tsc -b`, printing the compiler's lines under the
 * `tsc` prefix. Resolves true when all of them compiled. `force` compiles them whatever their timestamps say:
 * a file saved while the last build ran is older than that build's output, and `tsc -b` would skip it.
 */
export function buildPackages(root: string, dirs: string[], output: PrefixedOutput, force = false): Promise<boolean> {
  if (dirs.length === 0) return Promise.resolve(true)
  const tsc = findTsc(root)
  const child = spawn(process.execPath, [tsc, '-b', ...(force ? ['--force'] : []), ...dirs], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  output.follow('tsc', child.stdout!, 'stdout')
  output.follow('tsc', child.stderr!, 'stderr')
  return new Promise((resolve) => {
    child.once('error', () => resolve(false))
    child.once('close', (code) => resolve(code === 0))
  })
}
