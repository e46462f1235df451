import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readRootHelp, renderRootHelp, type RootHelpModel } from '../../src/cli/root-help.js'
import { runCli } from '../helpers/cli.js'
import { ROOT } from '../helpers/processes.js'

describe('airmcp --help without oclif', () => {
  it('prints what oclif prints (airmcp help), at every width, plain and in colour', async () => {
    for (const width of ['40', '52', '64', '80', '100', '160']) {
      const [fast, oclif] = await Promise.all([runCli(['--help'], { env: { OCLIF_COLUMNS: width } }), runCli(['help'], { env: { OCLIF_COLUMNS: width } })])
      expect(fast.code).toBe(0)
      expect(fast.stdout, `width ${width}`).toBe(oclif.stdout)
    }
    const [bare, coloured, oclifColoured] = await Promise.all([
      runCli([]),
      runCli(['--help'], { env: { FORCE_COLOR: '1', NO_COLOR: '' } }),
      runCli(['help'], { env: { FORCE_COLOR: '1', NO_COLOR: '' } }),
    ])
    expect(bare.stdout).toBe((await runCli(['help'])).stdout)
    expect(coloured.stdout).toContain('\u001B[1mCOMMANDS\u001B[22m')
    expect(coloured.stdout).toBe(oclifColoured.stdout)
  }, 120_000)

  it('knows every command: the model is rebuilt from oclif at each build', () => {
    const model = JSON.parse(readFileSync(join(ROOT, 'dist/cli/root-help.json'), 'utf8')) as RootHelpModel
    const commands = model.sections.find((s) => s.header === 'COMMANDS')!.rows.map(([name]) => name)
    expect(commands).toEqual(expect.arrayContaining(['call', 'inspect', 'status', 'new']))
  })

  it('leaves to oclif what its layout does not cover', () => {
    const model = readRootHelp(
      'Summary line\n\nVERSION\n  x/1.0.0 linux-x64 node-v20.0.0\n\nUSAGE\n  $ x [COMMAND]\n\nCOMMANDS\n  a    short\n  bb   a somewhat longer text that wraps around\n',
    )
    expect(model).toEqual({
      summary: 'Summary line',
      version: 'x/1.0.0',
      usage: '$ x [COMMAND]',
      sections: [{ header: 'COMMANDS', rows: [['a', 'short'], ['bb', 'a somewhat longer text that wraps around']] }],
    })
    expect(renderRootHelp(model, 80)).toContain('  bb  a somewhat longer text that wraps around\n')
    expect(renderRootHelp(model, 40)).toContain('  bb  a somewhat longer text that wraps\n      around\n')
    // A word wider than its column, and more than four continuation lines: oclif's other layouts.
    const word = 'incomprehensibilities '.repeat(2) + 'x'.repeat(40)
    expect(renderRootHelp({ ...model, sections: [{ header: 'COMMANDS', rows: [['a', word]] }] }, 40)).toBeUndefined()
    const long = 'one two three four five six seven eight nine ten '.repeat(4)
    expect(renderRootHelp({ ...model, sections: [{ header: 'COMMANDS', rows: [['a', long]] }] }, 40)).toBeUndefined()
    expect(() => readRootHelp('S\n\nDESCRIPTION\n  a long paragraph\n')).toThrow(/not a two-column list/)
  })
})
