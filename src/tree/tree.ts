import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, normalize, sep } from 'node:path'
import { unifiedDiff } from './diff.js'

export type ChangeType = 'CREATE' | 'UPDATE' | 'DELETE'

export interface FileChange {
  /** Relative to the tree's root, with `/` separators. */
  path: string
  type: ChangeType
  content?: string
}

export interface Conflict {
  path: string
  reason: string
}

/**
 * A virtual file tree over a directory: reads see planned changes first, then the disk; writes are only
 * recorded. Writing what the disk already holds records nothing, so planning twice is a no-op.
 */
export class Tree {
  private readonly changes = new Map<string, FileChange>()
  private readonly conflictList: Conflict[] = []

  constructor(readonly root: string) {}

  private key(path: string): string {
    const normalized = normalize(path).split(sep).join('/')
    if (normalized.startsWith('../') || normalized === '..' || normalized.startsWith('/')) {
      throw new Error(`Path "${path}" is outside the tree.`)
    }
    return normalized
  }

  private disk(path: string): string | undefined {
    const full = join(this.root, path)
    if (!existsSync(full) || !statSync(full).isFile()) return undefined
    return readFileSync(full, 'utf8')
  }

  /** The file's planned content, or what is on disk, or undefined. */
  read(path: string): string | undefined {
    const change = this.changes.get(this.key(path))
    if (change) return change.type === 'DELETE' ? undefined : change.content
    return this.disk(this.key(path))
  }

  /** Names of the entries directly inside a folder, on disk or planned. */
  children(dir: string): string[] {
    const key = dir === '' || dir === '.' ? '' : this.key(dir)
    const full = join(this.root, key)
    const names = new Set(existsSync(full) && statSync(full).isDirectory() ? readdirSync(full) : [])
    const prefix = key ? `${key}/` : ''
    for (const change of this.changes.values()) {
      if (!change.path.startsWith(prefix)) continue
      const name = change.path.slice(prefix.length).split('/')[0]
      if (change.type !== 'DELETE') names.add(name)
    }
    return [...names].sort()
  }

  exists(path: string): boolean {
    return this.read(path) !== undefined
  }

  /** Records new content; identical content records nothing (and cancels an earlier change). */
  write(path: string, content: string): void {
    const key = this.key(path)
    const onDisk = this.disk(key)
    if (onDisk === content) this.changes.delete(key)
    else this.changes.set(key, { path: key, type: onDisk === undefined ? 'CREATE' : 'UPDATE', content })
  }

  /**
   * Writes a file the generator means to create: when the disk has other content there, that is a conflict
   * unless `overwrite` is set.
   */
  create(path: string, content: string, overwrite = false): void {
    const onDisk = this.disk(this.key(path))
    if (onDisk !== undefined && onDisk !== content && !overwrite) {
      this.conflictList.push({ path: this.key(path), reason: 'exists with other content' })
      return
    }
    this.write(path, content)
  }

  delete(path: string): void {
    const key = this.key(path)
    if (this.disk(key) === undefined) this.changes.delete(key)
    else this.changes.set(key, { path: key, type: 'DELETE' })
  }

  conflicts(): Conflict[] {
    return [...this.conflictList]
  }

  listChanges(): FileChange[] {
    return [...this.changes.values()].sort((a, b) => a.path.localeCompare(b.path))
  }

  /** Unified diffs of every change, for `--dry-run`. */
  diff(): string {
    return this.listChanges()
      .map((c) => unifiedDiff(c.path, this.disk(c.path), c.type === 'DELETE' ? undefined : c.content))
      .join('')
  }

  /** Absolute path of a tree path. */
  resolve(path: string): string {
    return join(this.root, this.key(path))
  }
}
