import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../helpers/processes.js'

/** True when haproxy is installed (`.ci/containers.sh` installs it). */
export function hasHaproxy(): boolean {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export interface Haproxy {
  /** `http://127.0.0.1:<port>` */
  url: string
  stop(): Promise<void>
}

/**
 * An ordinary load balancer in front of gateway replicas, as the README asks of one: round-robin per
 * request with no stickiness, health checks on /health, and retries on another replica when a connection
 * fails (`retry-on conn-failure empty-response`, `option redispatch`). `port` when the replicas must know
 * their public URL before it starts (an OAuth redirect URI); `serverTimeout`: how long a backend may stay
 * silent before haproxy gives up on its answer (haproxy's syntax, e.g. `700ms`).
 */
export async function startHaproxy(backends: string[], port?: number, { serverTimeout = '5m' } = {}): Promise<Haproxy> {
  port ??= await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'airmcp-haproxy-'))
  const servers = backends.map((backend, i) => {
    const { hostname, port: backendPort } = new URL(backend)
    return `  server g${i + 1} ${hostname}:${backendPort} check inter 500 fall 3 rise 1`
  })
  const config = [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 5m',
    `  timeout server ${serverTimeout}`,
    // A replica slow to answer /health under load is not taken out (fall 3, 5 s); a dead one is avoided at
    // once all the same: its refused connections are retried on another (retry-on, redispatch).
    '  timeout check 5s',
    '  retries 3',
    '  option redispatch 1',
    '  option http-buffer-request',
    '  retry-on conn-failure empty-response response-timeout',
    'frontend mcp',
    `  bind 127.0.0.1:${port}`,
    '  default_backend gateways',
    'backend gateways',
    '  balance roundrobin',
    '  option httpchk',
    '  http-check send meth GET uri /health hdr Host localhost',
    ...servers,
    '',
  ].join('\n')
  const file = join(dir, 'haproxy.cfg')
  writeFileSync(file, config)
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  // Ready when the frontend accepts connections (haproxy binds before it serves; no fixed sleep).
  const deadline = Date.now() + 10_000
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`haproxy did not start: ${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url: `http://127.0.0.1:${port}`, stop }
}
