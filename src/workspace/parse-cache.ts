import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { userCacheFolder } from './code-cache.js'
import { PACKAGE_VERSION } from './root.js'

/** The modules whose parsing the cache stands in for: a rebuilt one (or another airmcp) starts a new cache. */
const PARSERS = ['./servers.js', './gateway-file.js', './literals.js', './parse-cache.js']

function parserVersion(): string {
  const stamps = PARSERS.map((module) => {
    try {
      return statSync(new URL(module, import.meta.url)).mtimeMs
    } catch {
      return 0
    }
  })
  return `${PACKAGE_VERSION} ${stamps.join(' ')}`
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * What the workspace model parsed out of each source text, kept between runs by the text's hash: a command in
 * a workspace whose sources did not change never loads TypeScript (9 MB; most of `add server`'s time in a
 * 50-server workspace). One file per workspace in the user's cache folder (~/.cache/airmcp/workspace-model),
 * holding only the entries the last read used. A missing, stale or unreadable cache only means parsing again.
 */
export class ParseCache {
  private readonly version = parserVersion()
  private readonly known: Record<string, unknown> = {}
  private readonly used: Record<string, unknown> = {}
  private changed = false
  private readonly file: string | undefined

  /** Without a root (a tree in memory), nothing is read or kept. */
  constructor(root: string | undefined) {
    this.file = root === undefined ? undefined : join(userCacheFolder('workspace-model'), `${sha256(root).slice(0, 32)}.json`)
    if (!this.file) return
    try {
      const stored = JSON.parse(readFileSync(this.file, 'utf8')) as { version?: string; entries?: Record<string, unknown> }
      if (stored.version === this.version && stored.entries) this.known = stored.entries
    } catch {
      // Not cached yet, or unreadable: parse.
    }
  }

  /** `parse(text)`'s result (JSON data), from the cache when this text of this kind was parsed before. */
  get<T>(kind: string, text: string, parse: () => T): T {
    const key = sha256(`${kind}\0${text}`)
    if (!(key in this.known)) {
      this.known[key] = parse() ?? null
      this.changed = true
    }
    this.used[key] = this.known[key]
    return (this.known[key] ?? undefined) as T
  }

  /** Records what parsing `text` gives, where its writer knows (a generator's own output), and keeps it. */
  remember(kind: string, text: string, value: unknown): void {
    Object.assign(this.used, this.known)
    this.get(kind, text, () => value)
    this.save()
  }

  /** Keeps what this read used, when it parsed anything new or left entries unused. */
  save(): void {
    if (!this.file || (!this.changed && Object.keys(this.used).length === Object.keys(this.known).length)) return
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 })
      const temporary = `${this.file}.${process.pid}.tmp`
      writeFileSync(temporary, JSON.stringify({ version: this.version, entries: this.used }))
      renameSync(temporary, this.file)
    } catch {
      // An unwritable cache folder: the next run parses again.
    }
  }
}
