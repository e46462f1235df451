#!/usr/bin/env node
// Only the execute entry of @oclif/core: `--help` stays close to a bare `node` start.
import { execute } from '@oclif/core/execute'

await execute({ dir: import.meta.url })
