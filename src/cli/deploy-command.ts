import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { Flags } from '@oclif/core'
import type { Tree } from '../tree/tree.js'
import { applyTree, type ApplyResult } from '../tree/apply.js'
import { writeFlags } from './base-command.js'
import { AirmcpError } from '../errors.js'

/** Flags both deploy targets have. */
export const deployFlags = {
  ...writeFlags,
  force: Flags.boolean({ description: 'Rewrite the Dockerfiles and manifests you edited (airmcp keeps them otherwise).' }),
  check: Flags.boolean({ description: 'Exit 1 and print the diff when the deploy files are out of date; write nothing.' }),
  'oauth-issuer': Flags.string({ description: "The gateway as an OAuth 2.1 protected resource: its authorization server's issuer URL (https; kept once set). With --oauth-audience." }),
  'oauth-audience': Flags.string({ description: 'The audience the access tokens are minted for, usually the public URL of /mcp (kept once set). With --oauth-issuer.' }),
}

/** --oauth-issuer and --oauth-audience as the generators' `oauth` option (they check the pair). */
export function oauthFlags(flags: { 'oauth-issuer'?: string; 'oauth-audience'?: string }): { issuer?: string; audience?: string } | undefined {
  const issuer = flags['oauth-issuer']
  const audience = flags['oauth-audience']
  return issuer === undefined && audience === undefined ? undefined : { issuer, audience }
}

export const VENDOR_TARBALL = 'deploy/vendor/airmcp.tgz'

/** The airmcp package (folder or tarball) a workspace's local `airmcp` dependency names. */
function localRuntimeSource(root: string): string {
  for (const dir of ['.', 'gateway']) {
    const file = join(root, dir, 'package.json')
    if (!existsSync(file)) continue
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>
    for (const field of ['dependencies', 'devDependencies']) {
      const spec = pkg[field]?.airmcp
      if (!spec) continue
      const path = spec.replace(/^(file:|link:)/, '')
      const source = isAbsolute(path) ? path : resolve(root, dir, path)
      if (existsSync(source)) return source
    }
  }
  throw new AirmcpError(
    'RUNTIME_NOT_FOUND',
    'The workspace depends on airmcp through a local path that does not exist, so images cannot carry it.',
    'point the "airmcp" dependency of package.json at an existing folder or tarball, or at a registry version (^0.1.0).',
  )
}

/**
 * Packs the local airmcp into the build context (deploy/vendor/airmcp.tgz), replacing the file only when
 * its bytes change; returns whether it did. npm pack output is reproducible, so re-runs are no-ops.
 */
export function packRuntime(root: string): boolean {
  const source = localRuntimeSource(root)
  const target = join(root, VENDOR_TARBALL)
  const scratch = mkdtempSync(join(tmpdir(), 'airmcp-pack-'))
  try {
    let packed: string
    if (statSync(source).isDirectory()) {
      execFileSync('npm', ['pack', source, '--pack-destination', scratch, '--silent', '--ignore-scripts'], { stdio: ['ignore', 'ignore', 'pipe'] })
      packed = join(scratch, readdirSync(scratch).find((f) => f.endsWith('.tgz'))!)
    } else {
      packed = join(scratch, 'airmcp.tgz')
      copyFileSync(source, packed)
    }
    if (existsSync(target) && readFileSync(target).equals(readFileSync(packed))) return false
    mkdirSync(dirname(target), { recursive: true })
    copyFileSync(packed, `${target}.tmp`)
    renameSync(`${target}.tmp`, target)
    return true
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

/** Adds a line to the workspace's .gitignore when it is missing (the packed tarball is a build input). */
export function ensureGitignoreLine(tree: Tree, line: string): void {
  const current = tree.read('.gitignore')
  if (current === undefined || current.split(/\r?\n/).includes(line)) return
  tree.write('.gitignore', `${current.replace(/\n*$/, '\n')}${line}\n`)
}

export interface DeployApplyResult extends ApplyResult {
  /** The packed airmcp tarball was written or refreshed. */
  packed: boolean
  outOfDate: boolean
}

/** The effects of a planned deploy: apply (or diff on --dry-run/--check), then pack a local airmcp. */
export function applyDeploy(
  tree: Tree,
  vendor: boolean,
  flags: { 'dry-run'?: boolean; check?: boolean },
  print: (line: string) => void,
): DeployApplyResult {
  if (vendor) ensureGitignoreLine(tree, 'deploy/vendor/')
  const dryRun = flags['dry-run'] || flags.check
  const applied = applyTree(tree, { dryRun, print })
  const outOfDate = applied.changes.length > 0 || (vendor && !existsSync(join(tree.root, VENDOR_TARBALL)))
  let packed = false
  if (vendor && !dryRun) {
    packed = packRuntime(tree.root)
    if (packed) print(`PACKED ${VENDOR_TARBALL}`)
  }
  return { ...applied, packed, outOfDate }
}
