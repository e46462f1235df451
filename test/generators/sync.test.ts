import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { syncGenerator } from '../../dist/generators/sync/index.js'
import { flushTree } from '../../dist/tree/flush.js'
import type { Tree } from '../../dist/tree/tree.js'
import { ROOT } from '../helpers/processes.js'
import { memoryWorkspace } from '../helpers/workspace.js'

const fixture = (name: string) => readFileSync(join(ROOT, 'fixtures/sync', name), 'utf8')

async function sync(tree: Tree) {
  const result = await syncGenerator(tree)
  flushTree(tree)
  return { result, text: tree.read('gateway/src/index.ts') }
}

const cases = [
  {
    name: 'user-code',
    why: 'user code and comments between registrations stay; nothing to do',
    servers: { search: "{ type: 'sse', port: 3510 }", files: "{ type: 'sse', port: 3511 }" },
    expect: { added: [], updated: [], removed: [] },
  },
  {
    name: 'remote-replica',
    why: 'a port that changed is updated; the remote replica is skipped',
    servers: { search: "{ type: 'sse', port: 3512 }" },
    expect: { added: [], updated: ['search-1'], removed: [] },
  },
  {
    name: 'crlf',
    why: 'a server added to a CRLF file with double quotes keeps both',
    servers: { search: "{ type: 'sse', port: 3510 }" },
    expect: { added: ['search-1'], updated: [], removed: [] },
  },
  {
    name: 'removed-and-switched',
    why: 'a server removed, one switched from sse to stdio, one added',
    servers: {
      search: "{ type: 'sse', port: 3510 }",
      analytics: "{ type: 'stdio' }",
      notes: "{ type: 'http', port: 3520 }",
    },
    expect: { added: ['notes-1'], updated: ['analytics-1'], removed: ['old-1'] },
  },
  {
    name: 'tool-naming',
    why: "a registration's tools prefix and renames stay as written when its port changes",
    servers: { search: "{ type: 'sse', port: 3515 }" },
    expect: { added: [], updated: ['search-1'], removed: [] },
  },
]

describe('gateway sync', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.why}; a second run changes nothing`, async () => {
      const dir = memoryWorkspace(c.servers, fixture(`${c.name}.input.ts`))
      const first = await sync(dir)
      expect(first.text).toBe(fixture(`${c.name}.expected.ts`))
      expect(first.result).toMatchObject(c.expect)
      const second = await sync(dir)
      expect(second.result.changed).toBe(false)
      expect(second.text).toBe(first.text)
    })
  }

  it('reports the remote replica it skipped', async () => {
    const dir = memoryWorkspace({ search: "{ type: 'sse', port: 3510 }" }, fixture('remote-replica.input.ts'))
    const { result } = await sync(dir)
    expect(result.skipped).toEqual([{ id: 'search-2', reason: expect.stringContaining('not local') }])
  })

  it('reads the transport from package.json when the source has no literal, else names the file', async () => {
    const dir = memoryWorkspace({ calc: 'config.transport' }, fixture('crlf.input.ts'))
    await expect(sync(dir)).rejects.toThrow(/Cannot tell how "servers\/calc\/src\/index.ts" is served/)
    expect(dir.read('gateway/src/index.ts')).toBe(fixture('crlf.input.ts'))
    dir.write('servers/calc/package.json', JSON.stringify({ name: 'calc', airmcp: { type: 'http', port: 3530 } }))
    const { result, text } = await sync(dir)
    expect(result.added).toEqual(['calc-1'])
    expect(text).toContain('url: "http://localhost:3530/mcp"')
  })

  it('refuses a gateway file that does not parse, writing nothing', async () => {
    const broken = "import { Gateway } from 'airmcp/gateway';\nconst gateway = new Gateway({ name: 'g' ;\n"
    const dir = memoryWorkspace({ search: "{ type: 'sse', port: 3510 }" }, broken)
    await expect(sync(dir)).rejects.toThrow(/does not parse \(line 2/)
    expect(dir.read('gateway/src/index.ts')).toBe(broken)
  })

  it('refuses a gateway file without a Gateway', async () => {
    const dir = memoryWorkspace({ search: "{ type: 'sse', port: 3510 }" }, "console.log('no gateway here');\n")
    await expect(sync(dir)).rejects.toThrow(/has no `const gateway = new Gateway/)
  })

  it("reports each server's status: added, updated or in sync", async () => {
    const dir = memoryWorkspace(
      { search: "{ type: 'sse', port: 3510 }", analytics: "{ type: 'stdio' }", notes: "{ type: 'http', port: 3520 }" },
      fixture('removed-and-switched.input.ts'),
    )
    const { result } = await sync(dir)
    expect(result.servers).toEqual([
      { name: 'analytics', status: 'updated', ids: ['analytics-1'] },
      { name: 'notes', status: 'added', ids: ['notes-1'] },
      { name: 'search', status: 'in sync', ids: ['search-1'] },
    ])
  })
})
