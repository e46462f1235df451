import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { toolGenerator } from '../../dist/generators/tool/index.js'
import { flushTree } from '../../dist/tree/flush.js'
import { Tree } from '../../dist/tree/tree.js'
import { runCli } from '../helpers/cli.js'
import { ROOT } from '../helpers/processes.js'
import { makeWorkspace } from '../helpers/workspace.js'

const SEARCH = readFileSync(join(ROOT, 'templates/presets/search/index.ts'), 'utf8')

async function addTool(dir: string, options: Parameters<typeof toolGenerator>[1]) {
  const tree = new Tree(dir)
  const result = await toolGenerator(tree, options)
  flushTree(tree)
  return result
}

describe('add tool', () => {
  it('appends a typed defineTool to the tools array, once', async () => {
    const dir = makeWorkspace({ search: "{ type: 'sse', port: 3510 }" })
    const file = join(dir, 'servers/search/src/index.ts')
    writeFileSync(file, SEARCH)
    expect(await addTool(dir, { server: 'search', tool: 'suggest', params: ['prefix:string', 'limit:number?'] })).toEqual({
      file: 'servers/search/src/index.ts',
      added: true,
    })
    const after = readFileSync(file, 'utf8')
    expect(after).toBe(
      SEARCH.replace(
        `        return { status: 'reindexing', startedAt: new Date().toISOString() };
      },
    }),
`,
        `        return { status: 'reindexing', startedAt: new Date().toISOString() };
      },
    }),
    defineTool('suggest', {
      description: 'TODO: describe suggest',
      params: {
        prefix: { type: 'string' },
        limit: { type: 'number', optional: true },
      },
      handler: async ({ prefix, limit }) => {
        // TODO: replace this placeholder with the real implementation.
        return { todo: 'implement suggest', prefix, limit };
      },
    }),
`,
      ),
    )
    expect(await addTool(dir, { server: 'search', tool: 'suggest' })).toMatchObject({ added: false })
    expect(readFileSync(file, 'utf8')).toBe(after)
  })

  it('adds the defineTool import when it is missing', async () => {
    const dir = makeWorkspace({ calc: "{ type: 'stdio' }" })
    await addTool(dir, { server: 'calc', tool: 'add' })
    const text = readFileSync(join(dir, 'servers/calc/src/index.ts'), 'utf8')
    expect(text).toMatch(/^import \{ defineServer, defineTool \} from 'airmcp';/)
    expect(text).toContain("  tools: [\n    defineTool('add', {\n")
  })

  it('refuses tools that are not an array literal, a bad param and a missing server, writing nothing', async () => {
    const dir = makeWorkspace({ calc: "{ type: 'stdio' }" })
    const file = join(dir, 'servers/calc/src/index.ts')
    const original = readFileSync(file, 'utf8').replace('tools: []', 'tools: makeTools()')
    writeFileSync(file, original)
    await expect(addTool(dir, { server: 'calc', tool: 'x' })).rejects.toThrow(/not an array literal/)
    await expect(addTool(dir, { server: 'calc', tool: 'x', params: ['limit:float'] })).rejects.toThrow(/Invalid --param "limit:float"/)
    await expect(addTool(dir, { server: 'nope', tool: 'x' })).rejects.toThrow(/Server "nope" does not exist/)
    expect(readFileSync(file, 'utf8')).toBe(original)
  })

  it('works from the CLI with --json', async () => {
    const dir = makeWorkspace({ calc: "{ type: 'stdio' }" })
    const result = await runCli(['add', 'tool', 'calc', 'sum', '--param', 'a:number', '--json'], { cwd: join(dir, 'servers') })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ added: true, changes: [{ type: 'UPDATE', path: 'servers/calc/src/index.ts' }] })
  })
})
