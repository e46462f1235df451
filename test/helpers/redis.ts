import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { freePort } from './processes.js'

export interface Redis {
  /** `redis://127.0.0.1:<port>` */
  url: string
  stop(): Promise<void>
}

/** A real redis-server (Debian's package, installed by .ci/containers.sh) on an OS port, in memory only. */
export async function startRedis(): Promise<Redis> {
  const port = await freePort()
  const redis: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  // Ready when it says so.
  let said = ''
  await new Promise<void>((resolve, reject) => {
    redis.stdout!.on('data', (chunk: Buffer) => {
      said += chunk.toString()
      if (said.includes('Ready to accept connections')) resolve()
    })
    redis.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${said}`)))
  })
  redis.stdout!.resume()
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (redis.exitCode !== null || redis.signalCode !== null) return
      const exited = once(redis, 'exit')
      redis.kill()
      await exited
    },
  }
}
