// What a server offers a client declaring one capability profile (profiles.ts): asked per request of a 2026 server, or on a short-lived 2025 session of its own.
import { CLIENT_CAPABILITIES_META_KEY } from '@modelcontextprotocol/client'
import type { ForwardOptions } from '../calls/index.js'
import { LIMIT_DEFAULTS } from '../security/index.js'
import type { Registration } from '../types.js'
import { readList, type ListKey, type ListLimits } from './list-intake.js'
import { PassThrough } from './upstream-lists.js'
import { createTransport, newClient, sessionTransport, type TransportWrap } from './upstream-transports.js'

type Params = Record<string, unknown>
/** One page of a list: its method, cursor and how long it may take. */
type PageRequest = (method: string, cursor: string | undefined, timeout: number) => Promise<Params>

export interface ProfileListTiming {
  connectTimeout: number
  maxResultBytes?: number
  lists?: ListLimits
}

/** Tool and prompt names as the server gives them. */
export interface ServerNames {
  tools: string[]
  prompts: string[]
}

/** The names of the tools and prompts a server lists, within the list limits and one `connectTimeout`. */
async function listNames(id: string, page: PageRequest, serves: { tools?: unknown; prompts?: unknown }, timing: ProfileListTiming): Promise<ServerNames> {
  const deadline = Date.now() + timing.connectTimeout
  const names = async (method: string, key: ListKey) => {
    if (!serves[key as 'tools' | 'prompts']) return []
    const read = await readList(id, method, key, (cursor, timeout) => page(method, cursor, timeout), timing.lists ?? LIMIT_DEFAULTS, deadline)
    return read.items.map((item) => item.name as string)
  }
  return { tools: await names('tools/list', 'tools'), prompts: await names('prompts/list', 'prompts') }
}

/** A 2026 server lists per request: each request says what its client declared (`_meta`), on the member's own connection. */
export function namesPerRequest(
  id: string,
  request: (method: string, params: Params, options: ForwardOptions) => Promise<Params>,
  serves: { tools?: unknown; prompts?: unknown },
  capabilities: Params,
  timing: ProfileListTiming,
): Promise<ServerNames> {
  const meta = { [CLIENT_CAPABILITIES_META_KEY]: capabilities }
  return listNames(id, (method, cursor, timeout) => request(method, { ...(cursor ? { cursor } : {}), _meta: meta }, { timeout }), serves, timing)
}

/**
 * A 2025 server decides what a session is offered at its initialize: a session declaring `capabilities` is
 * opened for the listing and closed after it (an HTTP session, an SSE connection, a process for stdio).
 */
export async function namesOnFreshSession(registration: Registration, capabilities: Params, timing: ProfileListTiming, withAuth: TransportWrap): Promise<ServerNames> {
  const client = newClient(timing.connectTimeout, capabilities)
  const type = registration.connection.type
  const transport =
    type === 'http' || type === 'streamable-http'
      ? sessionTransport(registration, timing.maxResultBytes, withAuth)
      : createTransport(registration, timing.maxResultBytes, () => undefined, withAuth)
  try {
    await client.connect(transport, { prior: { kind: 'legacy' }, timeout: timing.connectTimeout })
    const page: PageRequest = (method, cursor, timeout) =>
      client.request({ method, params: cursor ? { cursor } : {} } as never, PassThrough, { timeout }) as Promise<Params>
    return await listNames(registration.id, page, client.getServerCapabilities() ?? {}, timing)
  } finally {
    await client.close().catch(() => {})
  }
}
