import { claudeCode } from './claude-code.js'
import { claudeDesktop } from './claude-desktop.js'
import { codex } from './codex.js'
import { cursor } from './cursor.js'
import { gemini } from './gemini.js'
import type { ClientTarget, PathContext } from './types.js'
import { vscode } from './vscode.js'
import { windsurf } from './windsurf.js'

export const CLIENTS: ClientTarget[] = [claudeDesktop, claudeCode, cursor, vscode, windsurf, codex, gemini]
export const CLIENT_IDS = CLIENTS.map((c) => c.id)

export function findClient(id: string): ClientTarget | undefined {
  return CLIENTS.find((c) => c.id === id)
}

/** Paths from the environment, so HOME, APPDATA, XDG_CONFIG_HOME and CODEX_HOME are honoured. */
export function pathContext(env = process.env, cwd = process.cwd()): PathContext {
  return {
    platform: process.platform,
    home: env.HOME || env.USERPROFILE || '',
    appData: env.APPDATA,
    xdgConfigHome: env.XDG_CONFIG_HOME,
    codexHome: env.CODEX_HOME,
    cwd,
  }
}
