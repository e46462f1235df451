// Installs the workspace's dependencies inside an image build (`RUN node deploy/install.mjs`).
// The build context holds only the packages one image needs: `npm ci` installs those from the lockfile.
// When airmcp is a local path (before a release, or in airmcp's own tests), the lockfile points outside
// the build context; the manifests are then pointed at deploy/vendor/airmcp.tgz, packed by airmcp deploy,
// and `npm install` resolves it while keeping every other version the lockfile pins.
// `--manifests` only re-points the manifests (after the sources, package.json included, were copied over).
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

const tarball = resolve('deploy/vendor/airmcp.tgz')
const isLocal = (spec) => /^(file:|link:|\.{0,2}\/|~\/)/.test(spec) || /\.(tgz|tar\.gz)$/.test(spec)

function manifests() {
  const root = JSON.parse(readFileSync('package.json', 'utf8'))
  const dirs = (root.workspaces ?? []).flatMap((pattern) =>
    pattern.endsWith('/*')
      ? existsSync(pattern.slice(0, -2)) ? readdirSync(pattern.slice(0, -2)).map((name) => `${pattern.slice(0, -2)}/${name}`) : []
      : [pattern],
  )
  return ['package.json', ...dirs.map((dir) => `${dir}/package.json`).filter((file) => existsSync(file))]
}

let pointed = 0
if (existsSync(tarball)) {
  for (const file of manifests()) {
    const pkg = JSON.parse(readFileSync(file, 'utf8'))
    let changed = false
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      const spec = pkg[field]?.airmcp
      if (typeof spec === 'string' && isLocal(spec)) {
        pkg[field].airmcp = `file:${tarball}`
        changed = true
      }
    }
    if (changed) {
      writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`)
      pointed++
    }
  }
}
if (process.argv.includes('--manifests')) process.exit(0)
if (pointed && existsSync('package-lock.json')) {
  // Forget the lockfile's link to the folder outside the context; npm locks the tarball in its place.
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    if (!/(^|\/)node_modules\/airmcp$/.test(key)) continue
    delete lock.packages[key]
    if (entry.link && entry.resolved) delete lock.packages[entry.resolved]
  }
  writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`)
}
const flags = ['--no-audit', '--no-fund']
execFileSync('npm', pointed ? ['install', ...flags] : ['ci', ...flags], { stdio: 'inherit' })
