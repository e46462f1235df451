import { join } from 'node:path'
import type { ClientTarget } from './types.js'

export const vscode: ClientTarget = {
  id: 'vscode',
  label: 'VS Code',
  format: 'json',
  container: 'servers',
  scopes: ['project', 'user'],
  defaultScope: 'project',
  configPath(scope, { platform, home, appData, xdgConfigHome, cwd }) {
    if (scope === 'project') return join(cwd, '.vscode/mcp.json')
    if (platform === 'darwin') return join(home, 'Library/Application Support/Code/User/mcp.json')
    if (platform === 'win32') return join(appData ?? join(home, 'AppData/Roaming'), 'Code/User/mcp.json')
    return join(xdgConfigHome || join(home, '.config'), 'Code/User/mcp.json')
  },
  remote: true,
  toEntry: (entry) =>
    entry.kind === 'http'
      ? { type: 'http', url: entry.url }
      : { type: 'stdio', command: entry.command, args: entry.args },
  login: (name) => `VS Code asks you to sign in when it starts "${name}" (MCP: List Servers → ${name} → Start Server).`,
}
