import type { Registration } from '../gateway/types.js'
import type { GatewayFile } from '../workspace/index.js'

/**
 * The registrations the gateway's source makes, as `Gateway.register` receives them, read from the workspace
 * model; undefined when the source alone cannot tell (a computed value, a call inside a loop or an `if`).
 */
export function sourceRegistrations(gateway: GatewayFile): Registration[] | undefined {
  if (!gateway.registrationsKnown) return undefined
  return gateway.registrations.map((registration) => registration.options as unknown as Registration)
}

/**
 * The gateway file without its registration statements, whitespace folded: when this changes, the gateway's
 * own code changed (options, clients, policies …), which only a restart of its process applies.
 */
export function codeBesideRegistrations(gateway: GatewayFile): string {
  let text = gateway.text
  for (const { statement } of [...gateway.registrations].reverse()) text = text.slice(0, statement.start) + text.slice(statement.end)
  return text.replace(/\s+/g, ' ')
}
