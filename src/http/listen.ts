import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Binds an HTTP server, turning "port in use" and "no permission" into errors that say what to do. */
export async function listen(server: Server, port: number, host: string, label: string): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new Error(
            `${label}: port ${port} on ${host} is already in use. ` +
              'Try this: stop the other process, or choose another port (AIRMCP_PORT=...).',
          ),
        )
      } else if (error.code === 'EACCES') {
        reject(new Error(`${label}: no permission to listen on ${host}:${port}.`))
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
