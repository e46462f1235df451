// Item 10 of issue 15 (last part): the example files server's errors name what the client asked for, never
// the absolute root it serves from. A first client keeps listing while a second probes.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeClients, connectClient, textOf } from '../helpers/clients.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'

let root: string
let first: Client
let attacker: Client

beforeAll(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'airmcp-files-root-')))
  writeFileSync(join(root, 'hello.txt'), 'hello')
  const { url } = await startListening([...TSX_NODE_ARGS, 'templates/presets/files/index.ts'], {
    env: { AIRMCP_PORT: '0', FILES_ROOT: root },
  })
  first = await connectClient('sse', url)
  attacker = await connectClient('sse', url)
})

afterAll(async () => {
  await closeClients()
  await killAll()
  rmSync(root, { recursive: true, force: true })
})

describe('the files preset under probing', () => {
  it('10: paths outside the root, missing files and directories give errors without the absolute root', async () => {
    let stop = false
    const failures: string[] = []
    let calls = 0
    const steady = (async () => {
      while (!stop || calls < 20) {
        const result = await first.callTool({ name: 'read_file', arguments: { path: 'hello.txt' } })
        if (result.isError || textOf(result) !== 'hello') failures.push(textOf(result))
        calls++
      }
    })()
    const probes = ['../../../../etc/passwd', '/etc/passwd', 'missing.txt', '.', 'hello.txt/x']
    for (const path of probes) {
      const result = await attacker.callTool({ name: 'read_file', arguments: { path } })
      expect(result.isError, path).toBe(true)
      expect(textOf(result)).toContain(`Path "${path}"`)
      expect(textOf(result)).not.toContain(root)
    }
    const listing = await attacker.callTool({ name: 'list_files', arguments: { dir: 'missing-dir' } })
    expect(listing.isError).toBe(true)
    expect(textOf(listing)).not.toContain(root)
    stop = true
    await steady
    expect(failures).toEqual([])
  })
})
