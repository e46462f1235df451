import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export type TransportLiteral = string

/** A minimal workspace on disk: servers with the given `transport` literal, and a gateway file. */
export function makeWorkspace(servers: Record<string, TransportLiteral>, gateway?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'airmcp-ws-'))
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  write('package.json', JSON.stringify({ name: 'ws', private: true, workspaces: ['servers/*', 'gateway'] }, null, 2))
  for (const [name, transport] of Object.entries(servers)) {
    write(`servers/${name}/package.json`, JSON.stringify({ name: `@ws/${name}`, private: true }))
    write(
      `servers/${name}/src/index.ts`,
      `import { defineServer } from 'airmcp';\n\nconst server = defineServer({\n  name: '${name}',\n  version: '1.0.0',\n  transport: ${transport},\n  tools: [],\n});\n\nserver.start();\n`,
    )
  }
  if (gateway !== undefined) write('gateway/src/index.ts', gateway)
  return dir
}
