import { describe, expect, it } from 'vitest'
import { portOwner, readWorkspace, withServer } from '../../dist/workspace/index.js'
import { memoryWorkspace } from '../helpers/workspace.js'

const gateway = (registrations: string, port = "port: 4100, ") =>
  `import { Gateway } from 'airmcp/gateway';\nconst gateway = new Gateway({ name: 'g', ${port}});\n${registrations}\nawait gateway.start();\n`
const register = (id: string, name: string, connection: string) =>
  `gateway.register({ id: '${id}', name: '${name}', transport: 'sse', connection: ${connection} });\n`

describe('readWorkspace', () => {
  it("reads each server's transport and ports from its source, falling back to package.json", async () => {
    const tree = memoryWorkspace({ a: "{ type: 'sse', port: 3510 }", b: 'config.transport', c: "{ type: 'stdio' }" }, gateway(''))
    tree.write('servers/a/package.json', JSON.stringify({ name: '@ws/a', airmcp: { type: 'sse', port: 3599 } }))
    tree.write('servers/b/package.json', JSON.stringify({ name: '@ws/b', airmcp: { type: 'http', port: 3520 } }))
    const model = await readWorkspace(tree)
    expect(model.servers.map(({ name, transport, port, transportFrom, ports }) => ({ name, transport, port, transportFrom, ports }))).toEqual([
      { name: 'a', transport: { type: 'sse', port: 3510 }, port: 3510, transportFrom: 'source', ports: { source: 3510, packageJson: 3599 } },
      { name: 'b', transport: { type: 'http', port: 3520 }, port: 3520, transportFrom: 'package.json', ports: { source: undefined, packageJson: 3520 } },
      { name: 'c', transport: { type: 'stdio' }, port: undefined, transportFrom: 'source', ports: { source: undefined, packageJson: undefined } },
    ])
    expect(model.gateway?.port).toBe(4100)
    expect(portOwner(model, 3599)).toBe('server "a" (servers/a/package.json)')
    expect(portOwner(model, 3510)).toBe('server "a" (servers/a/src/index.ts)')
    expect(portOwner(model, 3510, 'a')).toBeUndefined()
    expect(portOwner(model, 4100)).toBe('the gateway (gateway/src/index.ts)')
  })

  it('tells registered, outdated and unregistered servers apart, and skips what it does not manage', async () => {
    const tree = memoryWorkspace(
      { a: "{ type: 'sse', port: 3510 }", b: "{ type: 'sse', port: 3512 }", c: "{ type: 'sse', port: 3513 }" },
      gateway(
        register('a-1', 'a', "{ type: 'sse', url: 'http://localhost:3510' }") +
          register('b-1', 'b', "{ type: 'sse', url: 'http://localhost:3511' }") +
          register('a-2', 'a', "{ type: 'sse', url: 'http://10.0.0.2:3510' }") +
          register('gone-1', 'gone', "{ type: 'sse', url: 'http://127.0.0.1:3590' }"),
      ),
    )
    const model = await readWorkspace(tree)
    expect(model.servers.map((s) => [s.name, s.registration])).toEqual([
      ['a', { status: 'registered', ids: ['a-1'] }],
      ['b', { status: 'outdated', ids: ['b-1'] }],
      ['c', { status: 'unregistered', ids: [] }],
    ])
    expect(model.registrations.orphans.map((r) => r.id)).toEqual(['gone-1'])
    expect(model.registrations.skipped.map((s) => s.registration.id)).toEqual(['a-2'])
    const added = withServer(model, { name: 'd', dir: 'servers/d', transport: { type: 'stdio' }, transportFrom: 'source', ports: {} })
    expect(added.servers.map((s) => s.name)).toEqual(['a', 'b', 'c', 'd'])
    expect(added.servers[3].registration.status).toBe('unregistered')
  })

  it('keeps working without a readable gateway file, and says why', async () => {
    const tree = memoryWorkspace({ a: "{ type: 'sse', port: 3510 }" }, 'const gateway = new Gateway({ ;')
    const model = await readWorkspace(tree)
    expect(model.gatewayProblem?.message).toMatch(/does not parse/)
    expect(model.servers[0].registration.status).toBe('unknown')
    const missing = await readWorkspace(memoryWorkspace({}))
    expect(missing.gatewayProblem?.code).toBe('NO_GATEWAY_FILE')
  })

  it('defaults the gateway port to 4000 when the Gateway names none', async () => {
    const model = await readWorkspace(memoryWorkspace({}, gateway('', '')))
    expect(model.gateway?.port).toBe(4000)
  })
})
