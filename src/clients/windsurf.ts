import { join } from 'node:path'
import type { ClientTarget } from './types.js'

export const windsurf: ClientTarget = {
  id: 'windsurf',
  label: 'Windsurf',
  format: 'json',
  container: 'mcpServers',
  scopes: ['user'],
  defaultScope: 'user',
  configPath: (_scope, { home }) => join(home, '.codeium/windsurf/mcp_config.json'),
  remote: true,
  toEntry: (entry) => (entry.kind === 'http' ? { serverUrl: entry.url } : { command: entry.command, args: entry.args }),
}
