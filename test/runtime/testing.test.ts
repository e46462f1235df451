import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestServer } from '../../dist/runtime/testing.js'
import { ROOT } from '../helpers/processes.js'

const ENTRY = join(ROOT, 'fixtures/servers/testing-target.mjs')

describe('airmcp/testing startTestServer', () => {
  afterEach(() => {
    delete process.env.TRANSPORT
    delete process.env.CRASH
  })

  for (const transport of ['stdio', 'sse', 'http'] as const) {
    it(`connects a real client over ${transport} once the server is ready (readiness from /health, custom paths too)`, async () => {
      process.env.TRANSPORT = transport
      const client = await startTestServer(ENTRY, transport)
      try {
        expect((await client.listTools()).map((t) => t.name)).toEqual(['echo'])
        expect((await client.callTool('echo', { text: 'hi' })).content).toEqual([{ type: 'text', text: 'hi' }])
      } finally {
        await client.close()
      }
    })
  }

  it('rejects with the server output when it exits before it is ready', async () => {
    process.env.CRASH = '1'
    await expect(startTestServer(ENTRY, 'sse')).rejects.toThrow(/exited with 3 before it was ready:\s+refusing to start/)
  })
})
