#!/usr/bin/env node
// `airmcp` and `airmcp --help` print the root help without loading oclif (src/cli/root-help.ts); everything else
// is oclif's execute entry alone. Node 22+ keeps compiled modules in its cache between runs.
import module from 'node:module'
import { printRootHelp } from '../dist/cli/root-help.js'

module.enableCompileCache?.()
if (!printRootHelp(process.argv.slice(2))) {
  const { execute } = await import('@oclif/core/execute')
  await execute({ dir: import.meta.url })
}
