import { describe, expect, it } from 'vitest'
import { chooseInspector, compareVersions, INSPECTOR_RELEASES, inspectorCommand } from '../../src/cli/inspector.js'
import { runCli } from '../helpers/cli.js'

describe('airmcp inspect: which Inspector for which Node (pure)', () => {
  it('picks the newest release that runs on the Node present, and says what the newest needs', () => {
    expect(chooseInspector('24.1.0')).toEqual({ release: INSPECTOR_RELEASES[0] })
    expect(chooseInspector('22.19.0').release.version).toBe('2.12.0')
    expect(chooseInspector('22.12.0')).toMatchObject({ release: { version: '1.0.3' }, newest: { version: '2.12.0', node: '22.19.0' } })
    expect(chooseInspector('20.20.2')).toMatchObject({ release: { version: '0.15.0' }, newest: { version: '2.12.0' } })
    expect(() => chooseInspector('18.20.0')).toThrow(/needs Node 20\.0\.0 or newer \(its latest, 2\.12\.0, Node 22\.19\.0\); this is Node 18\.20\.0/)
  })

  it('compares versions numerically', () => {
    expect(compareVersions('22.9.0', '22.19.0')).toBe(-1)
    expect(compareVersions('v22.19.0', '22.19.0')).toBe(0)
    expect(compareVersions('24.0.0', '22.19.0')).toBe(1)
  })

  it('points each release at the endpoint as far as its command line allows; the token is never printed', () => {
    const url = 'http://127.0.0.1:4000/mcp'
    const modern = inspectorCommand(INSPECTOR_RELEASES[0], url, 's3cret')
    expect(modern.args).toEqual(['--yes', '@modelcontextprotocol/inspector@2.12.0', '--transport', 'http', '--server-url', url, '--header', 'Authorization: Bearer s3cret'])
    expect(modern.display).toBe(
      'npx --yes @modelcontextprotocol/inspector@2.12.0 --transport http --server-url http://127.0.0.1:4000/mcp --header "Authorization: Bearer $AIRMCP_GATEWAY_TOKEN"',
    )
    expect(modern.steps).toEqual([])
    const middle = inspectorCommand(INSPECTOR_RELEASES[1], url, 's3cret')
    expect(middle.args).toEqual(['--yes', '@modelcontextprotocol/inspector@1.0.3', '--transport', 'http', '--server-url', url])
    expect(middle.steps).toEqual([expect.stringMatching(/^Authentication: Bearer Token/)])
    const node20 = inspectorCommand(INSPECTOR_RELEASES[2], url, undefined)
    expect(node20.args).toEqual(['--yes', '@modelcontextprotocol/inspector@0.15.0'])
    expect(node20.steps).toEqual([`Transport Type: Streamable HTTP, URL: ${url}, then Connect.`])
  })
})

describe('airmcp inspect --dry-run', () => {
  it('prints the command for this Node, pointed at the gateway, without the token', async () => {
    const result = await runCli(['inspect', '--dry-run', '--url', 'http://127.0.0.1:4100'], { env: { AIRMCP_GATEWAY_TOKEN: 'not-to-be-printed' } })
    expect(result.code, result.stderr).toBe(0)
    const { release, newest } = chooseInspector(process.versions.node)
    expect(result.stdout.trim()).toBe(inspectorCommand(release, 'http://127.0.0.1:4100/mcp', 'x').display)
    expect(result.stdout).toContain(`@modelcontextprotocol/inspector@${release.version}`)
    if (newest) expect(result.stderr).toContain(`its latest, ${newest.version}, needs Node ${newest.node}`)
    expect(result.stdout + result.stderr).not.toContain('not-to-be-printed')
  })

  it('--json gives the choice', async () => {
    const result = await runCli(['inspect', '--dry-run', '--json', '--url', 'http://127.0.0.1:4100/mcp'])
    expect(JSON.parse(result.stdout)).toMatchObject({ inspector: chooseInspector(process.versions.node).release.version, endpoint: 'http://127.0.0.1:4100/mcp' })
  })

  it('without --dry-run and no gateway: GATEWAY_NOT_RUNNING before anything is launched', async () => {
    const result = await runCli(['inspect', '--url', 'http://127.0.0.1:1'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/No gateway answers at http:\/\/127\.0\.0\.1:1[\s\S]*GATEWAY_NOT_RUNNING[\s\S]*Try this: start the workspace: airmcp dev/)
    expect(result.stderr).not.toContain('$ npx')
  })
})
