import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { Registration } from '../gateway/types.js'

/**
 * The registrations a (rebuilt) gateway makes, read by running its `dist/index.js` with
 * `AIRMCP_GATEWAY_DESCRIBE=1`: the Gateway hands them over the IPC channel and exits before serving.
 * The user's own code decides them, replicas and remote servers included.
 */
export function describeGateway(root: string, dir = 'gateway', timeoutMs = 20_000): Promise<Registration[]> {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRMCP_GATEWAY_DESCRIBE: '1' }
  delete env.AIRMCP_GATEWAY_PORT_MAP
  delete env.AIRMCP_SUPERVISED
  const child = spawn(process.execPath, ['dist/index.js'], {
    cwd: join(root, dir),
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)))
  const end = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  let timer: NodeJS.Timeout | undefined
  return new Promise<Registration[]>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${dir}/dist/index.js did not describe its registrations within ${timeoutMs / 1000} s`)), timeoutMs)
    child.on('message', (message: { airmcp?: string; registrations?: Registration[] }) => {
      if (message?.airmcp === 'describe') resolve(message.registrations ?? [])
    })
    child.once('exit', (code) => {
      const last = stderr.trim().split('\n').at(-1)
      reject(new Error(`${dir}/dist/index.js exited (code ${code}) without describing its registrations${last ? `: ${last}` : ''}`))
    })
    child.once('error', reject)
  }).finally(() => {
    clearTimeout(timer)
    end()
  })
}
