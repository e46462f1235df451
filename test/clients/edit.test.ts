import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLIENTS } from '../../dist/clients/index.js'
import { editConfig, isEmptyConfig, readState } from '../../dist/clients/plan.js'
import type { ClientTarget } from '../../dist/clients/types.js'
import { ROOT } from '../helpers/processes.js'

const INPUTS = join(ROOT, 'fixtures/clients/inputs')
const EXPECTED = join(ROOT, 'fixtures/clients/expected')
const NAME = 'my.platform' // dots are kept as they are
const entryFor = (target: ClientTarget) =>
  target.toEntry(
    target.remote
      ? { kind: 'http', url: 'http://127.0.0.1:4000/mcp' }
      : { kind: 'stdio', command: '/usr/local/bin/node', args: ['/opt/airmcp/bin/run.js', 'bridge', 'http://127.0.0.1:4000/mcp'] },
  )

/** Golden bytes per client and input; UPDATE_GOLDEN=1 rewrites them (review the diff). */
function expectGolden(client: string, input: string, actual: string) {
  const file = join(EXPECTED, client, input)
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(join(EXPECTED, client), { recursive: true })
    writeFileSync(file, actual)
  }
  expect(actual).toBe(readFileSync(file, 'utf8'))
}

describe.each(CLIENTS.map((c) => [c.id, c] as const))('%s config edits', (id, target) => {
  const extension = target.format === 'toml' ? '.toml' : '.json'
  const inputs = readdirSync(INPUTS).filter((f) => f.endsWith(extension) && !f.startsWith('invalid'))
  const entry = entryFor(target)

  for (const input of inputs) {
    it(`${input}: adds only our entry, is idempotent, and disconnect restores the bytes`, () => {
      const original = readFileSync(join(INPUTS, input), 'utf8')
      expect(readState(target, original, input, NAME, entry).state).toBe('absent')
      const connected = editConfig(target, original, NAME, entry)
      expectGolden(id, input, connected)
      expect(readState(target, connected, input, NAME, entry)).toMatchObject({ state: 'connected' })
      expect(editConfig(target, connected, NAME, entry)).toBe(connected)
      const restored = editConfig(target, connected, NAME, undefined)
      if (original.trim() === '') {
        // Nothing to restore byte for byte: what is left holds nothing, so disconnect deletes the file.
        expect(isEmptyConfig(restored)).toBe(true)
        expect(readState(target, restored, input, NAME, entry).state).toBe('absent')
      } else expect(restored).toBe(original)
    })
  }

  it('creates a config from nothing', () => {
    const created = editConfig(target, undefined, NAME, entry)
    expect(readState(target, created, 'new', NAME, entry).state).toBe('connected')
  })

  it('refuses a config that does not parse, naming the file and line', () => {
    const broken = readFileSync(join(INPUTS, `invalid${extension}`), 'utf8')
    expect(() => readState(target, broken, `/x/invalid${extension}`, NAME, entry)).toThrow(
      new RegExp(`"/x/invalid\\${extension}" is not valid ${target.format === 'toml' ? 'TOML' : 'JSON'} \\(line \\d+`),
    )
  })

  it('sees a different entry under our name', () => {
    const other = editConfig(target, undefined, NAME, { command: 'something-else' })
    expect(readState(target, other, 'x', NAME, entry).state).toBe('different')
  })
})
