import type { IncomingMessage, ServerResponse } from 'node:http'
import { toNodeHandler } from '@modelcontextprotocol/node'
import { createMcpHandler, type McpRequestContext } from '@modelcontextprotocol/server'
import { serveStdio } from '@modelcontextprotocol/server/stdio'
import { createModernServer } from './front.js'
import type { ClientAccess } from './policy.js'
import type { Router } from './router.js'
import type { StateSealer } from './sealed-state.js'

/**
 * The gateway's 2026-07-28 front on HTTP: each request is served by a fresh SDK v2 server over the router,
 * so any gateway process can answer any request. 2025-era traffic keeps the sessionful front.
 */
export function createModernHttpFront(
  router: Router,
  info: { name: string; version: string },
  sealer: StateSealer,
  defaultAccess?: ClientAccess,
) {
  // One handler for every client: a request's access reaches the factory as the SDK's `authInfo` (from
  // `req.auth`), so many OAuth principals cost no handler each.
  const handler = createMcpHandler(
    (context) => createModernServer(router, info, sealer, (context.authInfo?.extra as { access?: ClientAccess } | undefined)?.access ?? defaultAccess),
    { legacy: 'reject' },
  )
  router.notifiers.add(handler.notify)
  const serve = toNodeHandler(handler)
  return {
    async handle(req: IncomingMessage, res: ServerResponse, body: unknown, principal?: unknown): Promise<void> {
      // A listen stream asking for resource updates: the owning upstreams must be asked for them too.
      const request = body as { method?: string; params?: { notifications?: { resourceSubscriptions?: unknown } } }
      const uris = request?.method === 'subscriptions/listen' ? request.params?.notifications?.resourceSubscriptions : undefined
      if (Array.isArray(uris)) await Promise.allSettled(uris.map((uri) => router.subscribeUpstream(String(uri))))
      // The client's token stays here: `authInfo` carries only the access `authenticate` resolved.
      ;(req as { auth?: unknown }).auth = principal === undefined ? undefined : { token: '', clientId: '', scopes: [], extra: { access: principal } }
      await serve(req, res, body)
    },
    close: async () => {
      await handler.close()
    },
  }
}

/**
 * The gateway on stdio, both eras: the client's opening exchange pins the connection's era (the SDK's
 * `serveStdio`). A 2025 connection is a session like any HTTP one, told about list changes.
 */
export function serveGatewayStdio(
  router: Router,
  info: { name: string; version: string },
  sealer: StateSealer,
  access?: ClientAccess,
) {
  return serveStdio((context: McpRequestContext) => {
    const server = createModernServer(router, info, sealer, access)
    if (context.era === 'legacy') {
      const session = server as unknown as Parameters<Router['removeSession']>[0]
      router.sessions.add(session)
      server.onclose = () => router.removeSession(session)
      server.setRequestHandler('resources/subscribe', (r) => router.subscribe(session, r.params.uri) as never)
      server.setRequestHandler('resources/unsubscribe', (r) => router.unsubscribe(session, r.params.uri) as never)
    }
    return server
  })
}
