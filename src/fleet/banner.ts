import type { FleetPlan } from './plan.js'

/** Where to point a client once the fleet is up: connect, the Inspector, status. */
export function readyBanner(plan: FleetPlan, gatewayUrl: string): string[] {
  const port = plan.gateway.port
  const portFlag = port === 4000 ? '' : ` --port ${port}`
  const servers = [...plan.servers.map((s) => `${s.name} (${s.transport} :${s.port})`), ...plan.stdio.map((s) => `${s.name} (stdio)`)]
  return [
    `Gateway ready at ${gatewayUrl} — ${servers.length ? servers.join(', ') : 'no servers yet (airmcp add server NAME)'}`,
    `  Connect a client:  airmcp connect claude-code${portFlag}   (or cursor, vscode, claude-desktop, windsurf …)`,
    `  MCP Inspector:     npx @modelcontextprotocol/inspector  → Streamable HTTP, URL ${gatewayUrl}`,
    `  Servers' health:   airmcp status`,
  ]
}
