import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import Module, { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { Script } from 'node:vm'

/**
 * A folder of airmcp's in the user's own cache folder, not the shared temp one: what it keeps (compiled code,
 * parse results) is trusted on the next run, so only the user may write it.
 */
export function userCacheFolder(name: string): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'airmcp', name)
}

/**
 * Loads one large CommonJS file with V8's compiled code kept between runs, where Node has no compile cache of its
 * own (before 22.1; bin/run.js turns Node's on where it exists), in ~/.cache/airmcp/code-cache. ts-morph's bundled TypeScript (9 MB) costs about
 * 100 ms of CPU to compile on every `add server` or `gateway sync` without it. The module lands in require's cache,
 * so whoever requires the file next gets it. A missing, stale or rejected cache, or a folder we cannot write,
 * only means compiling as usual. Returns what it did: `builtin` (Node's own cache applies), `cached`, `compiled`.
 */
export function preloadWithCodeCache(file: string): 'builtin' | 'cached' | 'compiled' | 'loaded' {
  const cache = createRequire(import.meta.url).cache
  if ('enableCompileCache' in Module) return 'builtin'
  if (cache[file]) return 'loaded'
  const source = readFileSync(file, 'utf8')
  const { size, mtimeMs } = statSync(file)
  const key = createHash('sha256').update(`${file}\0${size}\0${mtimeMs}\0${process.version}\0${process.arch}`).digest('hex').slice(0, 32)
  const folder = userCacheFolder('code-cache')
  const cacheFile = join(folder, `${basename(file)}-${key}.bin`)
  let cachedData: Buffer | undefined
  try {
    cachedData = readFileSync(cacheFile)
  } catch {
    // Not cached yet.
  }
  const script = new Script(Module.wrap(source), { filename: file, cachedData })
  const module = new Module(file)
  module.filename = file
  cache[file] = module
  try {
    script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file))
    module.loaded = true
  } catch (error) {
    delete cache[file]
    throw error
  }
  if (cachedData && !script.cachedDataRejected) return 'cached'
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 })
    // One cache per file: the one of a previous version goes.
    for (const old of readdirSync(folder)) if (old.startsWith(`${basename(file)}-`)) rmSync(join(folder, old), { force: true })
    const temporary = `${cacheFile}.${process.pid}.tmp`
    writeFileSync(temporary, script.createCachedData())
    renameSync(temporary, cacheFile)
  } catch {
    // An unwritable cache folder: the next run compiles again.
  }
  return 'compiled'
}
