import { watch, type FSWatcher } from 'node:fs'
import { join, sep } from 'node:path'

/** What changed in a burst of file events. */
export interface WorkspaceChanges {
  /** Servers whose sources or package.json changed, or whose folder appeared or went away. */
  servers: Set<string>
  /** The gateway's sources changed (e.g. `gateway sync` after `add server`). */
  gateway: boolean
}

const IGNORED = new Set(['dist', 'node_modules', '.turbo', 'coverage'])

/**
 * Watches `servers/` and `gateway/src/` (recursively) and calls `onChange` once per burst of events,
 * `settleMs` after the last one: an `add server` that writes ten files and edits the gateway is one batch.
 */
export function watchWorkspace(root: string, onChange: (changes: WorkspaceChanges) => void, settleMs = 250): () => void {
  let pending: WorkspaceChanges = { servers: new Set(), gateway: false }
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    const changes = pending
    pending = { servers: new Set(), gateway: false }
    onChange(changes)
  }
  const touched = () => {
    clearTimeout(timer)
    timer = setTimeout(flush, settleMs)
  }
  const watchers: FSWatcher[] = [
    watch(join(root, 'servers'), { recursive: true }, (_event, file) => {
      const parts = String(file ?? '').split(sep)
      if (!parts[0] || parts[0].startsWith('.') || parts.slice(1).some((p) => IGNORED.has(p))) return
      if (parts.length > 1 && parts[1] !== 'src' && parts[1] !== 'package.json') return
      pending.servers.add(parts[0])
      touched()
    }),
    watch(join(root, 'gateway/src'), { recursive: true }, () => {
      pending.gateway = true
      touched()
    }),
  ]
  return () => {
    clearTimeout(timer)
    for (const watcher of watchers) watcher.close()
  }
}
