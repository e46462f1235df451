import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildWorkspace, makeExampleWorkspace } from '../helpers/fleet.js'
import { ROOT } from '../helpers/processes.js'

describe('a workspace generated inside another project', () => {
  let root = ''
  let cleanup = () => {}
  beforeAll(async () => {
    ;({ root, cleanup } = await makeExampleWorkspace())
    // The project around it has a vitest config of its own that cannot load here.
    writeFileSync(join(dirname(root), 'vitest.config.ts'), "export default { test: { reporters: ['./reporter-this-workspace-never-had.ts'] } }\n")
    buildWorkspace(root)
  }, 120_000)
  afterAll(() => cleanup())

  it("runs its servers' tests with their own configuration, not the project's above", async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run'], {
      cwd: join(root, 'servers/search'),
      env: { ...process.env, NO_COLOR: '1', CI: '1' },
    })
    expect(`${stdout}${stderr}`).not.toContain('reporter-this-workspace-never-had')
    expect(stdout).toMatch(/Test Files\s+1 passed/)
  }, 120_000)
})
