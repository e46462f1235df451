import { type Dirent, type FSWatcher, lstatSync, readdirSync, watch } from 'node:fs'
import { basename, join, relative, sep } from 'node:path'

/** What changed in a burst of file events. */
export interface WorkspaceChanges {
  /** Servers whose sources or package.json changed, or whose folder appeared or went away. */
  servers: Set<string>
  /** The gateway's sources changed (e.g. `gateway sync` after `add server`). */
  gateway: boolean
}

export const noChanges = (): WorkspaceChanges => ({ servers: new Set(), gateway: false })

/** Folders that hold no source: never walked, never a change. */
const SKIPPED_FOLDERS = new Set(['dist', 'node_modules', '.turbo', 'coverage', '.git'])

/** What each package is built from: its `src/` and the two files that say how. */
const PACKAGE_INPUTS = new Set(['src', 'package.json', 'tsconfig.json'])

/**
 * Files editors write beside the one being saved and never mean as source: swap and lock files (`.x.swp`,
 * `.#x`), backups (`x~`), vim's write probe (`4913`), JetBrains' safe-write files and the like.
 */
export function isEditorTempFile(name: string): boolean {
  return /^[.#]|~$|^4913$|\.(swp|swo|swx|tmp|bak|orig|crswap)$|___jb_(tmp|old)___$/i.test(name)
}

/** Which package a path under the workspace root belongs to, if it is one of that package's inputs. */
export function changedPackage(root: string, path: string): { server: string } | { gateway: true } | undefined {
  const parts = relative(root, path).split(sep)
  if (parts.some((part) => SKIPPED_FOLDERS.has(part)) || isEditorTempFile(parts.at(-1)!)) return undefined
  if (parts[0] === 'servers' && parts[1] && (parts.length === 2 || PACKAGE_INPUTS.has(parts[2]))) return { server: parts[1] }
  if (parts[0] === 'gateway' && parts[1] && PACKAGE_INPUTS.has(parts[1])) return { gateway: true }
  return undefined
}

/** The folders a save can be in: the root itself (for `servers/` and `gateway/` to appear), and theirs. */
function watchedFolder(root: string, dir: string): boolean {
  const parts = relative(root, dir).split(sep)
  if (parts[0] === '') return true
  return (parts[0] === 'servers' || parts[0] === 'gateway') && !parts.some((part) => SKIPPED_FOLDERS.has(part) || isEditorTempFile(part))
}

const isFolder = (path: string) => lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false

/**
 * One `fs.watch` per folder, as Linux's inotify works: a folder's watch reports what happens to the files in
 * it, whatever the save (in place, renamed over, deleted and created again). A watch follows an inode, not a
 * name, so a folder deleted and created again (or a new one) is watched afresh as soon as its parent reports
 * its name, and what is already in it counts as changed. Chokidar does not do this: it keeps the dead watch
 * of a folder that is back by the time it looks (and of a file whose new inode has the old one's number).
 */
class FolderWatches {
  private readonly watches = new Map<string, FSWatcher>()

  constructor(
    private readonly root: string,
    private readonly onPath: (path: string) => void,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Watches `dir` and the folders under it; `fresh` reports everything found (it may have been missed). */
  watchTree(dir: string, fresh: boolean): void {
    this.unwatchTree(dir)
    if (!watchedFolder(this.root, dir)) return
    // The watch first, then the listing: an entry made in between is seen by one or the other.
    let watcher: FSWatcher
    try {
      watcher = watch(dir, (_event, name) => this.changed(dir, name))
    } catch (error) {
      if (isFolder(dir)) this.onError(error as Error)
      return
    }
    watcher.on('error', (error) => {
      this.unwatchTree(dir)
      if (isFolder(dir)) this.onError(error)
    })
    this.watches.set(dir, watcher)
    let entries: Dirent[] = []
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      // Gone again already: its parent reports that.
    }
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (fresh) this.onPath(path)
      if (entry.isDirectory()) this.watchTree(path, fresh)
    }
  }

  unwatchTree(dir: string): void {
    for (const [path, watcher] of this.watches) {
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close()
        this.watches.delete(path)
      }
    }
  }

  /** An entry of `dir` changed: when it is (or was) a folder, it is a new one to watch or an old one to drop. */
  private changed(dir: string, name: string | null): void {
    // Its own name ends the watch of a folder deleted or moved (the folder may be back already): watch again
    // whatever is there now. A file of that name in it is found by that walk.
    if (!name || name === basename(dir)) {
      this.watchTree(dir, true)
      return this.onPath(dir)
    }
    const path = join(dir, name)
    if (this.watches.has(path) || isFolder(path)) this.watchTree(path, true)
    this.onPath(path)
  }
}

/**
 * Watches `servers/` and `gateway/` and calls `onChange` once per burst of events, `settleMs` after the last
 * one: an `add server` that writes ten files and edits the gateway is one batch. Node's recursive `fs.watch`
 * on Linux loses a file replaced by rename (`sed -i`, editors' atomic saves), and chokidar a folder deleted
 * and created again: see FolderWatches. Resolves once the watch is in place, with the function that ends it.
 */
export async function watchWorkspace(
  root: string,
  onChange: (changes: WorkspaceChanges) => void,
  onError: (error: Error) => void,
  settleMs = 250,
): Promise<() => Promise<void>> {
  let pending = noChanges()
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    const changes = pending
    pending = noChanges()
    onChange(changes)
  }
  const watches = new FolderWatches(
    root,
    (path) => {
      const changed = changedPackage(root, path)
      if (!changed) return
      if ('server' in changed) pending.servers.add(changed.server)
      else pending.gateway = true
      clearTimeout(timer)
      timer = setTimeout(flush, settleMs)
    },
    onError,
  )
  watches.watchTree(root, false)
  return async () => {
    clearTimeout(timer)
    watches.unwatchTree(root)
  }
}
