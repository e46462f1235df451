import { Client, type Transport } from '@modelcontextprotocol/client'

export type Era = '2025-11-25' | '2026-07-28'

const open = new Set<Client>()

/** An SDK v2 client speaking `era` (2025: a session; 2026: pinned), connected on `transport`; closed by closeEraClients. */
export async function connectEra(transport: Transport, era: Era, capabilities: Record<string, unknown> = {}): Promise<Client> {
  const client = new Client({ name: 'airmcp-test', version: '1.0.0' }, { capabilities, versionNegotiation: { mode: era === '2025-11-25' ? 'legacy' : { pin: era } } })
  await client.connect(transport)
  open.add(client)
  return client
}

export async function closeEraClients(): Promise<void> {
  await Promise.allSettled([...open].map((c) => c.close()))
  open.clear()
}
