import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { toolGenerator } from '../../dist/generators/tool/index.js'
import { flushTree } from '../../dist/tree/flush.js'
import type { Tree } from '../../dist/tree/tree.js'
import { ROOT } from '../helpers/processes.js'
import { memoryWorkspace } from '../helpers/workspace.js'

const SEARCH = readFileSync(join(ROOT, 'templates/presets/search/index.ts'), 'utf8')

async function addTool(tree: Tree, options: Parameters<typeof toolGenerator>[1]) {
  const result = await toolGenerator(tree, options)
  flushTree(tree)
  return result
}

describe('add tool', () => {
  it('appends a typed defineTool to the tools array, once', async () => {
    const file = 'servers/search/src/index.ts'
    const dir = memoryWorkspace({ search: "{ type: 'sse', port: 3510 }" }, undefined, { [file]: SEARCH })
    expect(await addTool(dir, { server: 'search', tool: 'suggest', params: ['prefix:string', 'limit:number?'] })).toEqual({
      file: 'servers/search/src/index.ts',
      added: true,
    })
    const after = dir.read(file)
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
    expect(dir.read(file)).toBe(after)
  })

  it('adds the defineTool import when it is missing', async () => {
    const dir = memoryWorkspace({ calc: "{ type: 'stdio' }" })
    await addTool(dir, { server: 'calc', tool: 'add' })
    const text = dir.read('servers/calc/src/index.ts')
    expect(text).toMatch(/^import \{ defineServer, defineTool \} from 'airmcp';/)
    expect(text).toContain("  tools: [\n    defineTool('add', {\n")
  })

  it('refuses tools that are not an array literal, a bad param and a missing server, writing nothing', async () => {
    const dir = memoryWorkspace({ calc: "{ type: 'stdio' }" })
    const file = 'servers/calc/src/index.ts'
    const original = dir.read(file)!.replace('tools: []', 'tools: makeTools()')
    dir.write(file, original)
    flushTree(dir)
    await expect(addTool(dir, { server: 'calc', tool: 'x' })).rejects.toThrow(/not an array literal/)
    await expect(addTool(dir, { server: 'calc', tool: 'x', params: ['limit:float'] })).rejects.toThrow(/Invalid --param "limit:float"/)
    await expect(addTool(dir, { server: 'nope', tool: 'x' })).rejects.toThrow(/Server "nope" does not exist/)
    expect(dir.read(file)).toBe(original)
    expect(dir.listChanges()).toEqual([])
  })

})
