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

/**
 * Watches `servers/` and `gateway/` with chokidar and calls `onChange` once per burst of events, `settleMs`
 * after the last one: an `add server` that writes ten files and edits the gateway is one batch. Unlike Node's
 * recursive `fs.watch` on Linux, chokidar keeps a file replaced by rename (`sed -i`, editors' atomic saves)
 * and folders deleted and created again. Resolves once the watch is in place, with the function that ends it.
 */
export async function watchWorkspace(
  root: string,
  onChange: (changes: WorkspaceChanges) => void,
  onError: (error: Error) => void,
  settleMs = 250,
): Promise<() => Promise<void>> {
  const { watch } = await import('chokidar')
  let pending = noChanges()
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    const changes = pending
    pending = noChanges()
    onChange(changes)
  }
  const watcher = watch([join(root, 'servers'), join(root, 'gateway')], {
    ignoreInitial: true,
    followSymlinks: false,
    // Skipped before they are walked: node_modules and dist are never watched.
    ignored: (path) => {
      const name = basename(path)
      return SKIPPED_FOLDERS.has(name) || isEditorTempFile(name)
    },
  })
  watcher.on('all', (_event, path) => {
    const changed = changedPackage(root, path)
    if (!changed) return
    if ('server' in changed) pending.servers.add(changed.server)
    else pending.gateway = true
    clearTimeout(timer)
    timer = setTimeout(flush, settleMs)
  })
  watcher.on('error', (error) => onError(error as Error))
  await new Promise<void>((resolve) => watcher.once('ready', resolve))
  return async () => {
    clearTimeout(timer)
    await watcher.close()
  }
}
