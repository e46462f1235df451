/** What a client should launch or reach, before it is put in that client's own shape. */
export type GatewayEntry = { kind: 'http'; url: string } | { kind: 'stdio'; command: string; args: string[] }

export type Scope = 'user' | 'project'

/** Where files live, from the environment (tests point these at a temp folder). */
export interface PathContext {
  platform: NodeJS.Platform
  home: string
  appData?: string
  xdgConfigHome?: string
  codexHome?: string
  cwd: string
}

/** One MCP client: where its config is, how it is written, and the shape of one server entry. */
export interface ClientTarget {
  id: string
  label: string
  format: 'json' | 'toml'
  /** The object holding server entries (`mcpServers`, `servers`, `mcp_servers`). */
  container: string
  scopes: Scope[]
  defaultScope: Scope
  configPath(scope: Scope, context: PathContext): string
  /** Whether the client reaches a URL itself; if not, `http` is bridged through a stdio command. */
  remote: boolean
  toEntry(entry: GatewayEntry): Record<string, unknown>
  /** A line to show after a change, e.g. that the app must be restarted. */
  note?: string
  /** How to log in to a remote server (`connect --url`) in this client, for the entry named `name`. */
  login?(name: string): string
}
