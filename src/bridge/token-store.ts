// Where `airmcp bridge` keeps what it holds for a protected server: one file per server URL in the user's
// config directory, mode 0600, each write atomic (a temporary file renamed over the old one).
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client'

/** What is held for one server: its registration with the authorization server and the tokens. */
export interface HeldCredentials {
  serverUrl: string
  client?: StoredOAuthClientInformation
  tokens?: StoredOAuthTokens
  /** When the access token expires (ms since the epoch), from `expires_in` at the time it was saved. */
  expiresAt?: number
  /** How long the access token was valid for (ms), so a refresh can be planned ahead of expiry. */
  lifetime?: number
}

/** airmcp's directory in the user's config (AIRMCP_CONFIG_DIR, else XDG_CONFIG_HOME or ~/.config). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AIRMCP_CONFIG_DIR ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'airmcp')
}

export function bridgeDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'bridge')
}

/** The file for one server URL: named by its hash, so a URL never becomes a path. */
export function credentialsFile(serverUrl: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(bridgeDir(env), `${createHash('sha256').update(serverUrl).digest('hex').slice(0, 32)}.json`)
}

export function readCredentials(file: string, serverUrl: string): HeldCredentials {
  try {
    const held = JSON.parse(readFileSync(file, 'utf8')) as HeldCredentials
    if (held.serverUrl === serverUrl) return held
  } catch {
    // None yet, or unreadable: start over (a login writes a whole new file).
  }
  return { serverUrl }
}

export function writeCredentials(file: string, held: HeldCredentials): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 })
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(held, null, 2)}\n`, { mode: 0o600 })
  renameSync(temporary, file)
}

/** Forgets what is held for `serverUrl`, or for every server when none is given; returns the URLs forgotten. */
export function forgetCredentials(serverUrl: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = bridgeDir(env)
  let names: string[]
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'))
  } catch {
    return []
  }
  const forgotten: string[] = []
  for (const name of names) {
    const file = join(dir, name)
    let url: string | undefined
    try {
      url = (JSON.parse(readFileSync(file, 'utf8')) as HeldCredentials).serverUrl
    } catch {
      // A damaged file holds nothing usable; forget it with the rest when no server is named.
    }
    if (serverUrl !== undefined && url !== serverUrl) continue
    rmSync(file, { force: true })
    forgotten.push(url ?? name)
  }
  return forgotten
}
