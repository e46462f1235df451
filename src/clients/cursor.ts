import { join } from 'node:path'
import type { ClientTarget } from './types.js'

export const cursor: ClientTarget = {
  id: 'cursor',
  label: 'Cursor',
  format: 'json',
  container: 'mcpServers',
  scopes: ['user', 'project'],
  defaultScope: 'user',
  configPath: (scope, { home, cwd }) => join(scope === 'project' ? cwd : home, '.cursor/mcp.json'),
  remote: true,
  toEntry: (entry) => (entry.kind === 'http' ? { url: entry.url } : { command: entry.command, args: entry.args }),
  login: (name) => `Open Cursor Settings → MCP and press Login next to "${name}".`,
}
