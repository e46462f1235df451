import type { Tree } from '../../tree/tree.js'
import { desiredConnection, type GatewayFile, type Registration, readWorkspace, requireGateway, sameConnection, type Workspace, type WorkspaceServer } from '../../workspace/index.js'
import { applyEdits, connectionCode, detectStyle, type Edit, registrationCode, type Style, str } from './code.js'

export interface SyncResult {
  added: string[]
  updated: string[]
  removed: string[]
  /** Registrations left as written, with why. */
  skipped: { id: string; reason: string }[]
  /** Every server's standing after the sync (what `list` shows). */
  servers: { name: string; status: 'added' | 'updated' | 'in sync'; ids: string[] }[]
  changed: boolean
}

/** Removes a registration statement and the line break after it; comments above it stay. */
export function ensureRemoved(text: string, reg: Registration): Edit {
  const start = reg.statement.start
  let end = reg.statement.end
  const after = /^[ \t]*\r?\n/.exec(text.slice(end))
  if (after) end += after[0].length
  const lineStart = text.lastIndexOf('\n', start - 1) + 1
  const onlyIndent = /^[ \t]*$/.test(text.slice(lineStart, start))
  // Between two blank lines, take one of them too, so no double gap is left.
  const blankAfter = /^[ \t]*\r?\n/.exec(text.slice(end))
  if (onlyIndent && blankAfter && /\n[ \t]*\r?\n$/.test(text.slice(0, lineStart))) end += blankAfter[0].length
  return { start: onlyIndent ? lineStart : start, end, text: '' }
}

/** Rewrites the transport and connection of a managed registration that no longer matches; [] when it does. */
export function ensureConnection(style: Style, server: WorkspaceServer, reg: Registration): Edit[] {
  const desired = desiredConnection(server.name, server.transport)
  const edits: Edit[] = []
  if (reg.transportValue) edits.push({ ...reg.transportValue, text: str(style, server.transport.type) })
  if (reg.connectionValue) edits.push({ ...reg.connectionValue, text: connectionCode(style, desired, 1) })
  return edits
}

/** One registration per server that has none, with the first free `<name>-<n>` id; undefined when none is missing. */
export function ensureRegistrations(style: Style, gateway: GatewayFile, missing: WorkspaceServer[]): { edit?: Edit; ids: string[] } {
  const taken = new Set(gateway.registrations.map((r) => r.id))
  const ids: string[] = []
  const blocks = missing.map((server) => {
    let n = 1
    while (taken.has(`${server.name}-${n}`)) n++
    const id = `${server.name}-${n}`
    taken.add(id)
    ids.push(id)
    return registrationCode(style, gateway.variable, id, server.name, desiredConnection(server.name, server.transport))
  })
  if (!blocks.length) return { ids }
  const block = blocks.join(style.eol + style.eol)
  const { at, before } = gateway.insertion
  const text = before ? block + style.eol + style.eol : style.eol + style.eol + block
  return { edit: { start: at, end: at, text }, ids }
}

/**
 * Keeps the `gateway.register(...)` calls of `gateway/src/index.ts` in step with `servers/`: adds one per
 * server without one, updates the connection of managed ones, removes managed ones whose server is gone.
 * Everything else in the file stays byte for byte. Pass the workspace model when the command has read it.
 */
export async function syncGenerator(tree: Tree, workspace?: Workspace): Promise<SyncResult> {
  const model = workspace ?? (await readWorkspace(tree))
  const gateway = requireGateway(model)
  const style = detectStyle(gateway.text)
  const { registrations } = model
  const result: SyncResult = {
    added: [],
    updated: [],
    removed: [],
    skipped: registrations.skipped.map(({ registration, reason }) => ({ id: registration.id || '(no id)', reason })),
    servers: [],
    changed: false,
  }
  const edits: Edit[] = registrations.orphans.map((reg) => ensureRemoved(gateway.text, reg))
  result.removed = registrations.orphans.map((reg) => reg.id)
  for (const server of model.servers.filter((s) => s.registration.status === 'outdated')) {
    const desired = desiredConnection(server.name, server.transport)
    for (const reg of registrations.managed.get(server.name) ?? []) {
      if (sameConnection(reg.connection, desired)) continue
      edits.push(...ensureConnection(style, server, reg))
      result.updated.push(reg.id)
    }
  }
  const missing = model.servers.filter((s) => s.registration.status === 'unregistered')
  const addition = ensureRegistrations(style, gateway, missing)
  if (addition.edit) edits.push(addition.edit)
  result.added = addition.ids
  for (const server of model.servers) {
    const added = missing.indexOf(server)
    result.servers.push(
      added >= 0
        ? { name: server.name, status: 'added', ids: [addition.ids[added]] }
        : { name: server.name, status: server.registration.status === 'outdated' ? 'updated' : 'in sync', ids: server.registration.ids },
    )
  }
  const next = applyEdits(gateway.text, edits)
  result.changed = next !== gateway.text
  if (result.changed) tree.write(gateway.path, next)
  return result
}
