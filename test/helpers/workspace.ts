import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Tree } from '../../dist/tree/tree.js'

export type TransportLiteral = string

/** The files of a minimal workspace: servers with the given `transport` literal, and a gateway file. */
export function workspaceFiles(servers: Record<string, TransportLiteral>, gateway?: string): Record<string, string> {
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'ws', private: true, workspaces: ['servers/*', 'gateway'] }, null, 2),
  }
  for (const [name, transport] of Object.entries(servers)) {
    files[`servers/${name}/package.json`] = JSON.stringify({ name: `@ws/${name}`, private: true })
    files[`servers/${name}/src/index.ts`] =
      `import { defineServer } from 'airmcp';\n\nconst server = defineServer({\n  name: '${name}',\n  version: '1.0.0',\n  transport: ${transport},\n  tools: [],\n});\n\nserver.start();\n`
  }
  if (gateway !== undefined) files['gateway/src/index.ts'] = gateway
  return files
}

/** The same workspace in memory: a generator's unit tests plan into it and never touch the disk. */
export function memoryWorkspace(servers: Record<string, TransportLiteral>, gateway?: string, extra: Record<string, string> = {}): Tree {
  return Tree.inMemory({ ...workspaceFiles(servers, gateway), ...extra })
}

/** The same workspace on disk, for tests that run the CLI in it. */
export function makeWorkspace(servers: Record<string, TransportLiteral>, gateway?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'airmcp-ws-'))
  for (const [path, text] of Object.entries(workspaceFiles(servers, gateway))) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}
