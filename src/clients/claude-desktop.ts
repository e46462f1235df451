import { join } from 'node:path'
import type { ClientTarget } from './types.js'

export const claudeDesktop: ClientTarget = {
  id: 'claude-desktop',
  label: 'Claude Desktop',
  format: 'json',
  container: 'mcpServers',
  scopes: ['user'],
  defaultScope: 'user',
  configPath(_scope, { platform, home, appData, xdgConfigHome }) {
    const file = 'claude_desktop_config.json'
    if (platform === 'darwin') return join(home, 'Library/Application Support/Claude', file)
    if (platform === 'win32') return join(appData ?? join(home, 'AppData/Roaming'), 'Claude', file)
    return join(xdgConfigHome || join(home, '.config'), 'Claude', file)
  },
  // Its config file takes commands only: a URL is reached through `airmcp bridge`.
  remote: false,
  toEntry: (entry) => (entry.kind === 'stdio' ? { command: entry.command, args: entry.args } : {}),
  note: 'Restart Claude Desktop (quit it fully) to load the change.',
  login: () =>
    'At its first connection `airmcp bridge` opens your browser to log in (the URL is in Claude Desktop\'s MCP log too); ' +
    'the tokens stay in ~/.config/airmcp/bridge/. `airmcp bridge --logout <url>` forgets them.',
}
