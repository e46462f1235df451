import { join } from 'node:path'
import type { ClientTarget } from './types.js'

export const claudeCode: ClientTarget = {
  id: 'claude-code',
  label: 'Claude Code',
  format: 'json',
  container: 'mcpServers',
  scopes: ['project', 'user'],
  defaultScope: 'project',
  configPath: (scope, { home, cwd }) => (scope === 'project' ? join(cwd, '.mcp.json') : join(home, '.claude.json')),
  remote: true,
  toEntry: (entry) =>
    entry.kind === 'http'
      ? { type: 'http', url: entry.url }
      : { type: 'stdio', command: entry.command, args: entry.args },
  login: (name) => `Run /mcp in Claude Code and pick "${name}" to log in.`,
}
