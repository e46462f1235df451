import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, runCli } from '../helpers/cli.js'

// Every failure a user can provoke from the command line, outside and inside a workspace: each names what
// is wrong, has a code and a "Try this:", and shows no stack trace or oclif's own wording.
const OUTSIDE: string[][] = [
  ['nwe'],
  ['xyzzy'],
  ['add', 'foo'],
  ['gateway', 'sync', 'extra'],
  ['connect'],
  ['connect', 'chatgpt'],
  ['connect', 'claude-code', '--transport', 'websocket'],
  ['connect', 'claude-code', '--port', 'abc'],
  ['connect', 'claude-code', '--port', '99999'],
  ['disconnect', 'chatgpt'],
  ['status', '--bogus'],
  ['status'],
  ['list'],
  ['lock'],
  ['lock', '--check', '--update'],
  ['gateway', 'sync'],
  ['deploy'],
  ['deploy', 'compose'],
  ['deploy', 'kubernetes', '--replicas', 'x'],
  ['new'],
  ['new', 'Bad Name!', '--yes'],
  ['add', 'server'],
  ['add', 'tool'],
  ['add', 'server', 'x'],
  ['call'],
  ['call', 'x', '--args', '{bad'],
  ['call', 'x', '--url', 'nope'],
  ['call', 'x', 'novalue'],
  ['bridge'],
  ['bridge', 'notaurl'],
  ['start'],
  ['dev'],
  ['start', '--port-offset', 'x'],
  ['inspect'],
  ['inspect', '--url', 'nope'],
  ['help', 'nope'],
  ['autocomplete', 'fish'],
]
const INSIDE: string[][] = [
  ['add', 'server', 'Bad_Name'],
  ['add', 'server', 'x', '--spec', 'missing.yaml'],
  ['add', 'server', 'x', '--port', '80'],
  ['add', 'server', 'x', '--transport', 'stdio', '--port', '3999'],
  ['add', 'server', 'x', '--preset', 'nope'],
  ['add', 'tool', 'nope', 't'],
  ['connect', 'claude-code', '--scope', 'nope'],
  ['lock', '--check'],
  ['start'],
]

function expectOneVoice(args: string[], result: CliResult): void {
  const said = `airmcp ${args.join(' ')} →\n${result.stderr}${result.stdout}`
  expect(result.code, said).not.toBe(0)
  expect(result.stderr, said).toMatch(/Error: \S/)
  expect(result.stderr, said).toMatch(/Code: [A-Z_]+/)
  expect(result.stderr, said).toMatch(/Try this: \S/)
  expect(result.stderr, said).not.toMatch(/\n\s+at |Node\.js v|See more help|Expected .* to be one of|is not a airmcp/)
  expect(result.stdout, said).not.toMatch(/^USAGE/m)
}

async function walk(cases: string[][], cwd: string): Promise<void> {
  // Three at a time: the machine is small, and each is a Node process.
  for (let i = 0; i < cases.length; i += 3) {
    const batch = cases.slice(i, i + 3)
    const results = await Promise.all(batch.map((args) => runCli(args, { cwd, env: { AIRMCP_GATEWAY_TOKEN: '' } })))
    batch.forEach((args, index) => expectOneVoice(args, results[index]))
  }
}

describe('one voice for every failure', () => {
  let parent = ''
  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), 'airmcp-voice-'))
    mkdirSync(join(parent, 'outside'))
    const created = await runCli(['new', 'ws', '--yes', '--no-git', '--no-install'], { cwd: parent })
    expect(created.code, created.stderr).toBe(0)
  }, 60_000)
  afterAll(() => rmSync(parent, { recursive: true, force: true }))

  it('outside a workspace: usage errors, unknown commands and missing workspaces', async () => {
    await walk(OUTSIDE, join(parent, 'outside'))
  }, 180_000)

  it('inside a workspace: invalid input of each writing command', async () => {
    await walk(INSIDE, join(parent, 'ws'))
  }, 120_000)

  it('--json: the same error as JSON on stdout', async () => {
    const result = await runCli(['status', '--json', '--bogus'], { cwd: join(parent, 'outside') })
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout)).toEqual({
      error: { code: 'UNKNOWN_FLAG', message: 'airmcp status has no flag --bogus.', suggestion: 'its flags: --url, --token, --json (airmcp status --help).' },
    })
  })

  it('names the nearest command or flag when there is one', async () => {
    const cwd = join(parent, 'outside')
    const [typo, flag, option, missing] = await Promise.all([
      runCli(['nwe'], { cwd }),
      runCli(['status', '--urll', 'x'], { cwd }),
      runCli(['connect', 'claude-code', '--transport', 'websocket'], { cwd }),
      runCli(['add', 'server'], { cwd }),
    ])
    expect(typo.code).toBe(127)
    expect(typo.stderr).toMatch(/"nwe" is not an airmcp command\.[\s\S]*Code: UNKNOWN_COMMAND[\s\S]*Try this: airmcp new\?/)
    expect(flag.stderr).toMatch(/airmcp status has no flag --urll\.[\s\S]*Code: UNKNOWN_FLAG[\s\S]*Try this: --url\?/)
    expect(option.stderr).toMatch(/--transport websocket is not one of: http, stdio\.[\s\S]*Code: BAD_FLAG_VALUE[\s\S]*Try this: --transport http/)
    expect(missing.stderr).toMatch(/airmcp add server needs NAME[\s\S]*MISSING_ARGUMENT[\s\S]*Try this: e\.g\. airmcp add server search/)
  })
})
