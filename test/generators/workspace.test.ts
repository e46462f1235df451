import { describe, expect, it } from 'vitest'
import { syncGenerator } from '../../dist/generators/sync/index.js'
import { workspaceGenerator } from '../../dist/generators/workspace/index.js'
import { flushTree } from '../../dist/tree/flush.js'
import { Tree } from '../../dist/tree/tree.js'
import { readWorkspace } from '../../dist/workspace/index.js'

describe('workspaceGenerator (in memory)', () => {
  it("plans the seed's servers already registered, and a re-run plans nothing", async () => {
    const tree = Tree.inMemory()
    const options = { packageName: 'demo', dirName: 'demo', runtime: 'file:/x', example: true, gatewayPort: 4100 }
    const { servers } = await workspaceGenerator(tree, options)
    expect(servers.map((s) => s.name)).toEqual(['search', 'files', 'analytics'])
    flushTree(tree)
    const model = await readWorkspace(tree)
    expect(model.gateway?.port).toBe(4100)
    expect(model.servers.map((s) => [s.name, s.transport.type, s.port, s.registration.status])).toEqual([
      ['analytics', 'stdio', undefined, 'registered'],
      ['files', 'sse', 3511, 'registered'],
      ['search', 'sse', 3510, 'registered'],
    ])
    expect((await syncGenerator(tree, model)).changed).toBe(false)
    await workspaceGenerator(tree, { ...options, force: true })
    expect(tree.listChanges()).toEqual([])
  })
})
