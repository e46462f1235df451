import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The port could not be bound (taken, or no permission): a start-up failure whose message says it all. */
export class ListenError extends Error {
  override name = 'ListenError'
}

/**
 * Binds an HTTP server, turning "port in use" and "no permission" into errors that say what to do, naming
 * the variable that overrides the port (`AIRMCP_PORT` for servers, `AIRMCP_GATEWAY_PORT` for the gateway).
 */
export async function listen(
  server: Server,
  port: number,
  host: string,
  label: string,
  portEnv = 'AIRMCP_PORT',
): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new ListenError(
            `${label}: port ${port} on ${host} is already in use. ` +
              `Try this: stop the other process, or choose another port (${portEnv}=...).`,
          ),
        )
      } else if (error.code === 'EACCES') {
        reject(new ListenError(`${label}: no permission to listen on ${host}:${port}. Try this: a port above 1023 (${portEnv}=...).`))
      } else reject(error)
    })
    server.listen(port, host, () => resolve())
  })
  const bound = (server.address() as AddressInfo).port
  const hostForUrl = host.includes(':') ? `[${host}]` : host
  return { port: bound, url: `http://${hostForUrl}:${bound}` }
}

/** Stops accepting, drops open connections and resolves once the server is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
