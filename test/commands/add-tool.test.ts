import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { makeWorkspace } from '../helpers/workspace.js'

describe('airmcp add tool', () => {
  it('works from the CLI with --json', async () => {
    const dir = makeWorkspace({ calc: "{ type: 'stdio' }" })
    const result = await runCli(['add', 'tool', 'calc', 'sum', '--param', 'a:number', '--json'], { cwd: join(dir, 'servers') })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ added: true, changes: [{ type: 'UPDATE', path: 'servers/calc/src/index.ts' }] })
  })
})
