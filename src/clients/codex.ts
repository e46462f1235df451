import { join } from 'node:path'
import type { ClientTarget } from './types.js'

export const codex: ClientTarget = {
  id: 'codex',
  label: 'Codex',
  format: 'toml',
  container: 'mcp_servers',
  scopes: ['user'],
  defaultScope: 'user',
  configPath: (_scope, { home, codexHome }) => join(codexHome || join(home, '.codex'), 'config.toml'),
  remote: true,
  toEntry: (entry) => (entry.kind === 'http' ? { url: entry.url } : { command: entry.command, args: entry.args }),
  login: (name) => `Log in with: codex mcp login ${name}`,
}
