/**
 * Per-registration tool names: `rename` replaces a server's name for a tool, then `prefix` goes in front of
 * every tool name of that registration (renamed ones included). The result is the name the pool offers;
 * the gateway's clash rule (`<pool>__<name>`) and character rule then apply to it as to any name.
 * @example
 * gateway.register({ id: 'gh-1', name: 'github', connection, tools: { prefix: 'gh_', rename: { create_issue_v2: 'create_issue' } } })
 * // the server's create_issue_v2 is exposed as gh_create_issue, its list_issues as gh_list_issues
 */
export interface ToolNaming {
  prefix?: string
  /** The server's tool name → the name to offer instead. */
  rename?: Record<string, string>
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/

/** Refuses naming that could not produce valid MCP tool names, naming the registration and the fix. */
export function validateNaming(id: string, naming: unknown): void {
  if (naming === undefined) return
  const where = `Registration "${id}": tools`
  if (typeof naming !== 'object' || naming === null || Array.isArray(naming)) {
    throw new TypeError(`${where} must be { prefix?, rename? }. Try this: tools: { prefix: 'gh_' }.`)
  }
  const { prefix, rename, ...rest } = naming as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown) throw new TypeError(`${where} has an unknown key "${unknown}". Try this: use prefix and rename only.`)
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^[a-zA-Z0-9_-]*$/.test(prefix))) {
    throw new TypeError(`${where}.prefix must use letters, digits, "_" or "-". Try this: prefix: 'gh_'.`)
  }
  if (rename === undefined) return
  if (typeof rename !== 'object' || rename === null || Array.isArray(rename)) {
    throw new TypeError(`${where}.rename must map server names to new names. Try this: rename: { create_issue_v2: 'create_issue' }.`)
  }
  const targets = new Set<string>()
  for (const [from, to] of Object.entries(rename)) {
    if (typeof to !== 'string' || !NAME.test(to)) {
      throw new TypeError(`${where}.rename["${from}"] must be 1-64 letters, digits, "_" or "-". Try this: rename: { "${from}": "a_better_name" }.`)
    }
    if (targets.has(to)) throw new TypeError(`${where}.rename gives two tools the name "${to}". Try this: give each its own name.`)
    targets.add(to)
  }
}

/** The name a registration offers for one of its server's tools. */
export function offeredToolName(naming: ToolNaming | undefined, name: string): string {
  if (!naming) return name
  return `${naming.prefix ?? ''}${naming.rename?.[name] ?? name}`
}

/** A registration's tools under the names it offers (the same array when there is no naming). */
export function offeredTools<T extends { name: string }>(naming: ToolNaming | undefined, tools: T[]): T[] {
  if (!naming) return tools
  return tools.map((tool) => ({ ...tool, name: offeredToolName(naming, tool.name) }))
}

/** The server's own name for a tool the registration offers as `offered`. */
export function serverToolName(naming: ToolNaming | undefined, tools: { name: string }[], offered: string): string {
  if (!naming) return offered
  return tools.find((tool) => offeredToolName(naming, tool.name) === offered)?.name ?? offered
}
