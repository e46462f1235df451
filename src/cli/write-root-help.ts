// Build step (npm run build, after oclif manifest): oclif's root help, unwrapped, kept as parts in
// dist/cli/root-help.json for `airmcp --help` (src/cli/root-help.ts).
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { readRootHelp } from './root-help.js'

const text = execFileSync(process.execPath, [fileURLToPath(new URL('../../bin/run.js', import.meta.url)), 'help'], {
  env: { ...process.env, OCLIF_COLUMNS: '100000', NO_COLOR: '1', FORCE_COLOR: '0' },
  encoding: 'utf8',
})
writeFileSync(new URL('./root-help.json', import.meta.url), `${JSON.stringify(readRootHelp(text), null, 2)}\n`)
