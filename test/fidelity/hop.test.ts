// Issue 27: real npm servers direct vs through a real gateway process, 2025 and 2026 clients.
import { mkdtempSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HostileGateway } from '../hostile/harness.js'
import { killAll } from '../helpers/processes.js'
import {
  type ClientEra,
  type FidelityClient,
  closeFidelityClients,
  connectDirect,
  connectThrough,
  type NpmServer,
  startFidelityGateway,
  step,
  textOf,
  transcript,
} from './harness.js'

const ERAS: ClientEra[] = ['2025', '2026']
const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'airmcp-fidelity-')))
mkdirSync(path.join(root, 'sub'))
writeFileSync(path.join(root, 'hello.txt'), 'hello from the root\n')
writeFileSync(path.join(root, 'sub', 'inner.txt'), 'inside sub\n')

const FILESYSTEM: NpmServer = { name: 'filesystem', entry: '@modelcontextprotocol/server-filesystem/dist/index.js', args: [root] }
const EVERYTHING: NpmServer = { name: 'everything', entry: '@modelcontextprotocol/server-everything/dist/index.js', args: ['stdio'] }

/** One gateway per server, so a transcript through it compares with the server's alone. */
let filesystem: HostileGateway
let everything: HostileGateway

beforeAll(async () => {
  ;[filesystem, everything] = await Promise.all([startFidelityGateway([FILESYSTEM]), startFidelityGateway([EVERYTHING])])
}, 120_000)

afterAll(async () => {
  await closeFidelityClients()
  await killAll()
  rmSync(root, { recursive: true, force: true })
})

describe.each(ERAS)('filesystem with a %s client', (era) => {
  it('lists and reads as direct', async () => {
    const calls = [{ tool: 'read_text_file', arguments: { path: path.join(root, 'hello.txt') } }, { tool: 'list_directory', arguments: { path: root } }]
    const direct = await connectDirect(FILESYSTEM, { era })
    const through = await connectThrough(filesystem, { era })
    expect(await transcript(through, calls)).toEqual(await transcript(direct, calls))
    await Promise.all([direct.close(), through.close()])
  }, 60_000)
})

const hello = path.join(root, 'hello.txt')
const inner = path.join(root, 'sub', 'inner.txt')
const readText = (client: FidelityClient, file: string) => step('read', () => client.callTool({ name: 'read_text_file', arguments: { path: file } }))

describe('roots reach the server (issue 27 item 1)', () => {
  // Direct, a 2026 client negotiates 2025 with this 2025 server (a 2026-pinned one cannot connect); through the gateway it speaks 2026.
  it.each(['2025'] as const)('a %s client declaring roots [R/sub] is refused R/hello.txt as direct, and allowed it once its roots say R', async (era) => {
    const direct = await connectDirect(FILESYSTEM, { era, roots: [{ uri: `file://${root}/sub`, name: 'sub' }] })
    const through = await connectThrough(filesystem, { era, roots: [{ uri: `file://${root}/sub`, name: 'sub' }] })
    for (const client of [direct, through]) {
      expect(textOf((await readText(client, inner)).outcome)).toBe('inside sub\n')
      await expect.poll(async () => textOf((await readText(client, hello)).outcome)).toMatch(/outside allowed directories/)
    }
    expect((await readText(through, hello)).outcome).toEqual((await readText(direct, hello)).outcome)
    // notifications/roots/list_changed reaches the server, which asks again.
    for (const client of [direct, through]) {
      await client.setRoots([{ uri: `file://${root}`, name: 'root' }])
      await expect.poll(async () => textOf((await readText(client, hello)).outcome), { timeout: 15_000 }).toBe('hello from the root\n')
    }
    await Promise.all([direct.close(), through.close()])
  }, 60_000)

  it('a client declaring no roots gets what the server was started on, as direct', async () => {
    const direct = await connectDirect(FILESYSTEM, { era: '2025' })
    const through = await connectThrough(filesystem, { era: '2025' })
    expect((await readText(through, hello)).outcome).toEqual((await readText(direct, hello)).outcome)
    expect(textOf((await readText(through, hello)).outcome)).toBe('hello from the root\n')
    await Promise.all([direct.close(), through.close()])
  }, 60_000)
})

void everything
