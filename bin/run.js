#!/usr/bin/env node
// `airmcp` and `airmcp --help` print the root help without loading oclif (src/cli/root-help.ts); everything else
// is oclif's execute(), with each error put in airmcp's voice before oclif prints it. Node 22+ keeps compiled
// modules in its cache between runs.
import module from 'node:module'
import { printRootHelp } from '../dist/cli/root-help.js'

module.enableCompileCache?.()
if (!printRootHelp(process.argv.slice(2))) {
  const [{ run }, { flush }, { handle }] = await Promise.all([import('@oclif/core/run'), import('@oclif/core/flush'), import('@oclif/core/handle')])
  await run(process.argv.slice(2), import.meta.url)
    .then(() => flush())
    .catch(async (error) => handle(await (await import('../dist/cli/usage-errors.js')).inAirmcpVoice(error, process.argv.slice(2))))
}
