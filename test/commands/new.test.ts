import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { hashTree, readTree } from '../helpers/hash.js'
import { ROOT } from '../helpers/processes.js'

const temp = () => mkdtempSync(join(tmpdir(), 'airmcp-new-'))
const QUIET = ['--yes', '--no-install', '--no-git', '--runtime', '^0.1.0']

/** Compares a generated folder with fixtures/golden/<name>, file by file; UPDATE_GOLDEN=1 rewrites it. */
function expectGolden(dir: string, name: string) {
  const golden = join(ROOT, 'fixtures/golden', name)
  const actual = readTree(dir)
  if (process.env.UPDATE_GOLDEN) {
    rmSync(golden, { recursive: true, force: true })
    for (const [path, content] of actual) {
      mkdirSync(join(golden, path, '..'), { recursive: true })
      writeFileSync(join(golden, path), content)
    }
  }
  const expected = readTree(golden)
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort())
  for (const [path, content] of expected) expect(actual.get(path), path).toBe(content)
}

describe('airmcp new', () => {
  it('generates the golden workspace', async () => {
    const cwd = temp()
    const result = await runCli(['new', 'demo', ...QUIET], { cwd })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('CREATE demo/gateway/src/index.ts')
    expectGolden(join(cwd, 'demo'), 'new-demo')
  })

  it('generates the golden example workspace (the seed\'s three servers, registered)', async () => {
    const cwd = temp()
    const result = await runCli(['new', 'my-platform', '--example', ...QUIET], { cwd })
    expect(result.code, result.stderr).toBe(0)
    expectGolden(join(cwd, 'my-platform'), 'new-example')
  })

  it('prints CREATE lines and writes nothing on --dry-run; --json returns the plan', async () => {
    const cwd = temp()
    const before = hashTree(cwd)
    const result = await runCli(['new', 'demo', ...QUIET, '--dry-run', '--json'], { cwd })
    expect(result.code, result.stderr).toBe(0)
    const plan = JSON.parse(result.stdout)
    expect(plan).toMatchObject({ name: 'demo', dryRun: true, installed: false })
    expect(plan.changes).toContainEqual({ type: 'CREATE', path: 'package.json' })
    expect(hashTree(cwd)).toBe(before)
  })

  it('refuses a non-empty directory without --force and changes nothing', async () => {
    const cwd = temp()
    expect((await runCli(['new', 'demo', ...QUIET], { cwd })).code).toBe(0)
    writeFileSync(join(cwd, 'demo/gateway/src/index.ts'), '// mine\n')
    const before = hashTree(cwd)
    const again = await runCli(['new', 'demo', ...QUIET], { cwd })
    expect(again.code).not.toBe(0)
    expect(again.stderr).toMatch(/Directory ".*demo" is not empty/)
    expect(again.stderr).toMatch(/Try this: use --force/)
    expect(hashTree(cwd)).toBe(before)
    const forced = await runCli(['new', 'demo', ...QUIET, '--force'], { cwd })
    expect(forced.code, forced.stderr).toBe(0)
    expect(readTree(join(cwd, 'demo')).get('gateway/src/index.ts')).toContain('new Gateway')
  })

  const badNames: [string, RegExp][] = [
    ['', /No workspace name given|empty/],
    ['../x', /slash/],
    ['A B', /uppercase/],
    ['con', /reserved device name/],
    ['x'.repeat(215), /215 characters/],
    ['node_modules', /reserved/],
    ['a/b', /scope/],
  ]
  for (const [name, message] of badNames) {
    it(`refuses the name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}…` : name)} and writes nothing`, async () => {
      const cwd = temp()
      const result = await runCli(['new', name, ...QUIET], { cwd })
      expect(result.code).not.toBe(0)
      expect(result.stderr).toMatch(message)
      expect(result.stderr).toContain('Try this:')
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(readTree(cwd).size).toBe(0)
    })
  }

  it('refuses to run without a name and without a TTY', async () => {
    const result = await runCli(['new', '--no-install'], { cwd: temp() })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/No workspace name given/)
  })

  it('refuses an unknown package manager', async () => {
    const result = await runCli(['new', 'demo', ...QUIET, '--package-manager', 'pip'], { cwd: temp() })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/npm, pnpm, yarn, bun|npm\|pnpm\|yarn\|bun/)
  })

  it.skipIf(process.getuid?.() === 0)('refuses an unwritable parent directory', async () => {
    const cwd = temp()
    chmodSync(cwd, 0o500)
    const result = await runCli(['new', 'demo', ...QUIET], { cwd })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/is not writable/)
  })
})
