import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { ROOT } from '../helpers/processes.js'

describe('the CLI package', () => {
  // `npm test` builds first, which regenerates oclif.manifest.json: a difference means the committed one is stale.
  it('has a committed oclif.manifest.json that matches the commands', () => {
    const diff = execFileSync('git', ['diff', '--stat', '--', 'oclif.manifest.json'], { cwd: ROOT, encoding: 'utf8' })
    expect(diff, 'oclif.manifest.json is stale: commit the one `npm run build` wrote').toBe('')
  })

  it('shows help with examples, and refuses an unknown command', async () => {
    const help = await runCli(['add', 'server', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('EXAMPLES')
    expect(help.stdout).toContain('airmcp add server search --transport sse')
    // Our command_not_found hook: what is wrong, a code, and the nearest command (test/commands/one-voice.test.ts).
    const typo = await runCli(['nwe'])
    expect(typo.code).toBe(127)
    expect(typo.stderr).toMatch(/"nwe" is not an airmcp command/)
  })

  it('keeps the runtime and gateway free of CLI dependencies', () => {
    // Every import of dist/runtime, dist/gateway, dist/http and dist/telemetry: only each other, node:, the
    // MCP SDK and its extensions, zod, eventsource-parser and @opentelemetry/api (telemetry also loads prom-client and the
    // OpenTelemetry SDK lazily, tool search its optional embedding model).
    const files = readdirSync(join(ROOT, 'dist'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => /^(runtime|gateway|http|telemetry)\/.*\.js$/.test(f),
    )
    expect(files.length).toBeGreaterThan(5)
    for (const file of files) {
      const source = readFileSync(join(ROOT, 'dist', file), 'utf8')
      for (const [, specifier] of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const allowed =
          specifier.startsWith('node:') ||
          /^@modelcontextprotocol\/(sdk\/|server|client|node|core|ext-apps)/.test(specifier) ||
          // OAuth token checks (src/http/oauth-resource.ts) load jose lazily.
          (file === 'http/oauth-resource.js' && specifier === 'jose') ||
          specifier === 'zod' ||
          specifier === '@opentelemetry/api' ||
          (file.startsWith('telemetry/') && (specifier === 'prom-client' || specifier.startsWith('@opentelemetry/'))) ||
          specifier === 'eventsource-parser' ||
          // Protected upstreams: OAuth with jose; replicas' token store in Redis (optional, loaded lazily).
          (file.startsWith('gateway/upstreams/auth/') && (specifier === 'jose' || specifier === '@redis/client')) ||
          // Tool search by meaning (opt-in) loads its optional embedding packages lazily.
          (file === 'gateway/discovery/semantic.js' && specifier.startsWith('@energetic-ai/')) ||
          // The naming rules: a leaf module that imports nothing.
          specifier === '../names.js' ||
          /^\.\.?\/(?:\.\.\/(?:runtime|gateway|http|telemetry)\/)?[\w./-]+\.js$/.test(specifier)
        expect(allowed, `${file} imports ${specifier}`).toBe(true)
      }
    }
  })
})
