import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, normalize, relative, sep } from 'node:path'
import { unifiedDiff } from './diff.js'

export type ChangeType = 'CREATE' | 'UPDATE' | 'DELETE'

export interface FileChange {
  /** Relative to the tree's root with `/` separators, or absolute for a file outside it (a client config). */
  path: string
  type: ChangeType
  content?: string
  /** Copy the file as it was into the backup folder before changing it (user files such as client configs). */
  backup?: boolean
}

export interface Conflict {
  path: string
  reason: string
}

export interface WriteOptions {
  /** Back the file up before it is changed (see `FileChange.backup`). */
  backup?: boolean
}

/**
 * A virtual file tree over a directory: reads see planned changes first, then the disk; writes are only
 * recorded. Writing what the disk already holds records nothing, so planning twice is a no-op.
 * `Tree.inMemory(files)` is the same tree over a map instead of the disk (for tests and previews); absolute
 * paths reach files outside the root, such as a client's config in the home folder.
 */
export class Tree {
  private readonly changes = new Map<string, FileChange>()
  private readonly conflictList: Conflict[] = []

  /** `memory` replaces the disk: absolute path → content. */
  constructor(
    readonly root: string,
    readonly memory?: Map<string, string>,
  ) {}

  /** A tree whose "disk" is the given files (paths relative to `root`, or absolute). */
  static inMemory(files: Record<string, string> = {}, root = '/virtual'): Tree {
    const memory = new Map<string, string>()
    const tree = new Tree(root, memory)
    for (const [path, content] of Object.entries(files)) memory.set(tree.resolve(path), content)
    return tree
  }

  private key(path: string): string {
    if (isAbsolute(path)) {
      const inside = relative(this.root, path)
      if (inside && !inside.startsWith('..') && !isAbsolute(inside)) return inside.split(sep).join('/')
      return normalize(path)
    }
    const normalized = normalize(path).split(sep).join('/')
    if (normalized.startsWith('../') || normalized === '..' || normalized.startsWith('/')) {
      throw new Error(`Path "${path}" is outside the tree.`)
    }
    return normalized
  }

  private disk(key: string): string | undefined {
    const full = this.resolve(key)
    if (this.memory) return this.memory.get(full)
    if (!existsSync(full) || !statSync(full).isFile()) return undefined
    return readFileSync(full, 'utf8')
  }

  private diskChildren(full: string): string[] {
    if (!this.memory) return existsSync(full) && statSync(full).isDirectory() ? readdirSync(full) : []
    const prefix = full.endsWith(sep) ? full : full + sep
    return [...this.memory.keys()].filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length).split(sep)[0])
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
    const names = new Set(this.diskChildren(this.resolve(key)))
    const prefix = key ? `${key}/` : ''
    for (const change of this.changes.values()) {
      if (!change.path.startsWith(prefix)) continue
      const name = change.path.slice(prefix.length).split('/')[0]
      if (change.type !== 'DELETE') names.add(name)
      else if (change.path === prefix + name) names.delete(name)
    }
    return [...names].sort()
  }

  exists(path: string): boolean {
    return this.read(path) !== undefined
  }

  /** Records new content; identical content records nothing (and cancels an earlier change). */
  write(path: string, content: string, options: WriteOptions = {}): void {
    const key = this.key(path)
    const onDisk = this.disk(key)
    if (onDisk === content) this.changes.delete(key)
    else this.changes.set(key, { path: key, type: onDisk === undefined ? 'CREATE' : 'UPDATE', content, ...(options.backup ? { backup: true } : {}) })
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

  delete(path: string, options: WriteOptions = {}): void {
    const key = this.key(path)
    if (this.disk(key) === undefined) this.changes.delete(key)
    else this.changes.set(key, { path: key, type: 'DELETE', ...(options.backup ? { backup: true } : {}) })
  }

  conflicts(): Conflict[] {
    return [...this.conflictList]
  }

  listChanges(): FileChange[] {
    return [...this.changes.values()].sort((a, b) => a.path.localeCompare(b.path))
  }

  /** What the disk (or the memory) holds for a change's path, before the change. */
  original(path: string): string | undefined {
    return this.disk(this.key(path))
  }

  /** Forgets every planned change (after a flush). */
  clear(): void {
    this.changes.clear()
  }

  /** Unified diffs of every change, for `--dry-run`. */
  diff(): string {
    return this.listChanges()
      .map((c) => unifiedDiff(c.path, this.disk(c.path), c.type === 'DELETE' ? undefined : c.content))
      .join('')
  }

  /** Absolute path of a tree path. */
  resolve(path: string): string {
    const key = isAbsolute(path) ? path : this.key(path)
    return isAbsolute(key) ? key : join(this.root, key)
  }
}
