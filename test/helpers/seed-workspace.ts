import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './processes.js'

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: true,
    rootDir: 'src',
    outDir: 'dist',
    types: ['node'],
  },
  include: ['src'],
}

/**
 * Lays out the seed's workspace (servers/search, servers/files, servers/analytics, gateway) in a temp dir
 * from the seed's own code (fixtures/seed), with `airmcp` linked to this package, and compiles it with tsc.
 * `edit` may change a file's text first (e.g. the gateway's URLs for ephemeral ports).
 */
export function buildSeedWorkspace(edit: (name: string, text: string) => string = (_n, t) => t): string {
  const dir = mkdtempSync(join(tmpdir(), 'airmcp-seed-'))
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true })
  symlinkSync(ROOT, join(dir, 'node_modules/airmcp'))
  symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'seed', private: true, type: 'module' }))
  const packages = { search: 'servers/search', files: 'servers/files', analytics: 'servers/analytics', gateway: 'gateway' }
  for (const [name, path] of Object.entries(packages)) {
    mkdirSync(join(dir, path, 'src'), { recursive: true })
    writeFileSync(join(dir, path, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }))
    writeFileSync(join(dir, path, 'tsconfig.json'), JSON.stringify(TSCONFIG))
    const text = readFileSync(join(ROOT, 'fixtures/seed', `${name}.ts`), 'utf8')
    writeFileSync(join(dir, path, 'src/index.ts'), edit(name, text))
  }
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', ...Object.values(packages)], {
    cwd: dir,
    stdio: 'pipe',
  })
  return dir
}
