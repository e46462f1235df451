import { join } from 'node:path'
import type { ClientTarget } from './types.js'

export const gemini: ClientTarget = {
  id: 'gemini',
  label: 'Gemini CLI',
  format: 'json',
  container: 'mcpServers',
  scopes: ['user', 'project'],
  defaultScope: 'user',
  configPath: (scope, { home, cwd }) => join(scope === 'project' ? cwd : home, '.gemini/settings.json'),
  remote: true,
  // Gemini CLI's key for Streamable HTTP is httpUrl (url means legacy SSE there).
  toEntry: (entry) => (entry.kind === 'http' ? { httpUrl: entry.url } : { command: entry.command, args: entry.args }),
  login: (name) => `Run /mcp auth ${name} in Gemini CLI to log in.`,
}
