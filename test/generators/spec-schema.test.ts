import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { toolSpecJsonSchema } from '../../dist/spec/schema.js'
import { parseToolSpec } from '../../dist/spec/load.js'
import { ROOT } from '../helpers/processes.js'

const SHIPPED = join(ROOT, 'templates/tool-spec.schema.json')

describe('the tool spec', () => {
  it('ships a JSON Schema generated from the zod schema (UPDATE_GOLDEN=1 rewrites it)', () => {
    const generated = `${JSON.stringify(toolSpecJsonSchema(), null, 2)}\n`
    if (process.env.UPDATE_GOLDEN) writeFileSync(SHIPPED, generated)
    expect(readFileSync(SHIPPED, 'utf8')).toBe(generated)
  })

  it('names the file, the path and the fix for every problem', () => {
    expect(() => parseToolSpec({ transport: { type: 'ws' }, tools: [{ name: 'x', params: { 'bad-name': { type: 'string' } } }] }, 'spec.json')).toThrow(
      /Tool spec "spec\.json" is invalid:\n {2}transport\.type: .*\n {2}tools\[0\]\.params\.bad-name: .*identifiers/,
    )
  })
})
