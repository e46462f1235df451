import { describe, expect, it } from 'vitest'
import { serverGenerator } from '../../dist/generators/server/index.js'
import { flushTree } from '../../dist/tree/flush.js'
import { readWorkspace } from '../../dist/workspace/index.js'
import { memoryWorkspace } from '../helpers/workspace.js'

const GATEWAY = "import { Gateway } from 'airmcp/gateway';\nconst gateway = new Gateway({ name: 'g', port: 4000 });\nawait gateway.start();\n"

/** A workspace with server `taken` on 3510 (source and package.json agree) and a gateway on 4000. */
function workspace() {
  const tree = memoryWorkspace({ taken: "{ type: 'sse', port: 3510 }" }, GATEWAY)
  tree.write('servers/taken/package.json', JSON.stringify({ name: '@ws/taken', airmcp: { type: 'sse', port: 3510 } }))
  flushTree(tree)
  return tree
}

describe('serverGenerator (in memory)', () => {
  it('plans package.json, tsconfig, source and test; the model then reads it as written', async () => {
    const tree = workspace()
    const result = await serverGenerator(tree, { name: 'notes', transport: 'http', tools: ['create'] })
    expect(result).toMatchObject({ name: 'notes', dir: 'servers/notes', transport: { type: 'http', port: 3511 }, tools: ['create'] })
    expect(tree.listChanges().map((c) => `${c.type} ${c.path}`)).toEqual([
      'CREATE servers/notes/package.json',
      'CREATE servers/notes/src/index.ts',
      'CREATE servers/notes/test/notes.test.ts',
      'CREATE servers/notes/tsconfig.json',
      'CREATE servers/notes/vitest.config.ts',
    ])
    const model = await readWorkspace(tree)
    expect(model.servers.find((s) => s.name === 'notes')).toMatchObject({
      packageName: '@ws/notes',
      transport: { type: 'http', port: 3511 },
      ports: { source: 3511, packageJson: 3511 },
      registration: { status: 'unregistered' },
    })
  })

  it('is idempotent: regenerating with --force over its own output plans nothing', async () => {
    const tree = workspace()
    await serverGenerator(tree, { name: 'notes', port: 3600 })
    flushTree(tree)
    await serverGenerator(tree, { name: 'notes', port: 3600, force: true })
    expect(tree.listChanges()).toEqual([])
  })

  it('reports a conflict instead of overwriting a file it did not write', async () => {
    const tree = workspace()
    tree.write('servers/notes/tsconfig.json', '{ "mine": true }\n')
    flushTree(tree)
    await serverGenerator(tree, { name: 'notes' })
    expect(tree.conflicts()).toEqual([{ path: 'servers/notes/tsconfig.json', reason: 'exists with other content' }])
  })

  it('skips every port the gateway or a server names (source or package.json) when it picks one', async () => {
    const tree = workspace()
    tree.write('servers/taken/src/index.ts', tree.read('servers/taken/src/index.ts')!.replace('port: 3510', 'port: 3511'))
    expect((await serverGenerator(tree, { name: 'fresh' })).transport).toEqual({ type: 'sse', port: 3512 })
  })

  const refused: [string, Parameters<typeof serverGenerator>[1], RegExp, ((tree: ReturnType<typeof workspace>) => void)?][] = [
    ['a port in another server\'s package.json', { name: 'fresh', port: 3510 }, /Port 3510 is already used by server "taken"/],
    [
      "a port only another server's source names (edited by hand)",
      { name: 'fresh', port: 3600 },
      /Port 3600 is already used by server "taken" \(servers\/taken\/src\/index\.ts\)/,
      (tree) => tree.write('servers/taken/src/index.ts', tree.read('servers/taken/src/index.ts')!.replace('port: 3510', 'port: 3600')),
    ],
    ["the gateway's own port", { name: 'fresh', port: 4000 }, /Port 4000 is already used by the gateway \(gateway\/src\/index\.ts\)/],
    ['a privileged port', { name: 'fresh', port: 80 }, /Port 80 \(--port\) is below 1024/],
    ['--port with stdio', { name: 'fresh', transport: 'stdio', port: 3600 }, /--port 3600 means nothing for a stdio server/],
    ['the name gateway', { name: 'gateway' }, /Server name "gateway" is reserved/],
    [
      "a name another workspace package's name has",
      { name: 'fresh' },
      /would be package "@ws\/fresh", which "servers\/taken\/package\.json" already is/,
      (tree) => tree.write('servers/taken/package.json', JSON.stringify({ name: '@ws/fresh', airmcp: { type: 'sse', port: 3510 } })),
    ],
    ['an existing server', { name: 'taken' }, /Server "taken" already exists/],
    ['an invalid tool name', { name: 'fresh', tools: ['no spaces'] }, /Invalid tool name "no spaces"/],
  ]
  for (const [what, options, message, edit] of refused) {
    it(`refuses ${what}, planning nothing`, async () => {
      const tree = workspace()
      edit?.(tree)
      flushTree(tree)
      const error = await serverGenerator(tree, options).then(
        () => undefined,
        (e: Error & { suggestion?: string }) => e,
      )
      expect(error?.message).toMatch(message)
      expect(error?.suggestion).toBeTruthy()
      expect(tree.listChanges()).toEqual([])
    })
  }
})
