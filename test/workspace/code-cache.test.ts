import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import Module from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/processes.js'

// Each load runs in a fresh Node process, as each CLI run does.
const dir = mkdtempSync(join(tmpdir(), 'airmcp-code-cache-'))
const file = join(dir, 'big.cjs')
const cacheHome = join(dir, 'cache')
const folder = join(cacheHome, 'airmcp/code-cache')

function load(): { how: string; answer: number } {
  const script = `import { createRequire } from 'node:module'
const { preloadWithCodeCache } = await import(${JSON.stringify(join(ROOT, 'dist/workspace/code-cache.js'))})
const how = preloadWithCodeCache(${JSON.stringify(file)})
console.log(JSON.stringify({ how, answer: createRequire(import.meta.url)(${JSON.stringify(file)}).answer }))`
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, XDG_CACHE_HOME: cacheHome }, encoding: 'utf8' }))
}

describe('preloadWithCodeCache (Node before 22.1)', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.runIf(!('enableCompileCache' in Module))('compiles once, then reads the code back; a changed file or a bad cache compiles again', () => {
    writeFileSync(file, `function add(a, b) { return a + b }\nmodule.exports = { answer: add(40, 2), here: __dirname }\n`)
    expect(load()).toEqual({ how: 'compiled', answer: 42 })
    expect(readdirSync(folder)).toEqual([expect.stringMatching(/^big\.cjs-[0-9a-f]{32}\.bin$/)])
    expect(load()).toEqual({ how: 'cached', answer: 42 })

    writeFileSync(file, `module.exports = { answer: 43 }\n`)
    expect(load()).toEqual({ how: 'compiled', answer: 43 })
    expect(readdirSync(folder)).toHaveLength(1) // the old version's cache went

    const [cache] = readdirSync(folder)
    writeFileSync(join(folder, cache), 'not a code cache')
    expect(load()).toEqual({ how: 'compiled', answer: 43 })
    expect(load()).toEqual({ how: 'cached', answer: 43 })
  })

  it.runIf('enableCompileCache' in Module)("leaves it to Node's own compile cache", () => {
    writeFileSync(file, 'module.exports = { answer: 42 }\n')
    expect(load()).toEqual({ how: 'builtin', answer: 42 })
    expect(existsSync(folder)).toBe(false)
  })
})
