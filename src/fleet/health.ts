import { get } from 'node:http'

/** Asks `GET url` once; true when anything answers over HTTP (a 401 from a guarded /health is alive too). */
export function probe(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume()
      resolve(true)
    })
    request.once('timeout', () => request.destroy())
    request.once('error', () => resolve(false))
  })
}

/**
 * Resolves once `url` (a `/health` endpoint) answers; rejects when `gaveUp()` says the process is gone or
 * after `timeoutMs`. Readiness is the probe's answer, never a log line.
 */
export async function waitForHealth(url: string, gaveUp: () => string | undefined, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const reason = gaveUp()
    if (reason) throw new Error(reason)
    if (await probe(url)) return
    if (Date.now() > deadline) throw new Error(`did not answer ${url} within ${Math.round(timeoutMs / 1000)} s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
