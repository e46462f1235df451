import { describe, expect, it } from 'vitest'
import { CallStats } from '../../src/gateway/call-stats.js'
import { parsePortMap, remapConnection } from '../../src/gateway/port-map.js'
import { PrefixedOutput, wantsColour } from '../../src/fleet/output.js'
import { statusTable } from '../../src/fleet/status.js'

describe('CallStats', () => {
  it('counts calls and errors, and reports the median within 5%', () => {
    const stats = new CallStats()
    expect(stats.snapshot()).toEqual({ calls: 0, errors: 0, medianMs: undefined })
    for (let ms = 1; ms <= 1001; ms++) stats.record(ms, ms % 10 === 0)
    const { calls, errors, medianMs } = stats.snapshot()
    expect(calls).toBe(1001)
    expect(errors).toBe(100)
    expect(medianMs!).toBeGreaterThanOrEqual(501)
    expect(medianMs!).toBeLessThanOrEqual(501 * 1.05)
  })
})

describe('the gateway follows servers a supervisor moved (AIRMCP_GATEWAY_PORT_MAP)', () => {
  const map = parsePortMap('3510=41001, 3511=41002,junk,=5')
  it('parses pairs and skips junk', () => {
    expect([...map]).toEqual([
      [3510, 41001],
      [3511, 41002],
    ])
  })
  it('moves loopback URLs on a mapped port, keeping the path; leaves other hosts and stdio alone', () => {
    expect(remapConnection({ type: 'sse', url: 'http://localhost:3510' }, map)).toEqual({ type: 'sse', url: 'http://localhost:41001/' })
    expect(remapConnection({ type: 'http', url: 'http://127.0.0.1:3511/mcp' }, map)).toEqual({ type: 'http', url: 'http://127.0.0.1:41002/mcp' })
    expect(remapConnection({ type: 'sse', url: 'http://search.internal:3510' }, map)).toEqual({ type: 'sse', url: 'http://search.internal:3510' })
    expect(remapConnection({ type: 'stdio', command: 'node' }, map)).toEqual({ type: 'stdio', command: 'node' })
  })
})

describe('prefixed output', () => {
  it('colours only on a terminal, never with NO_COLOR, as FORCE_COLOR says', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream
    const pipe = { isTTY: false } as NodeJS.WriteStream
    expect(wantsColour(tty, {})).toBe(true)
    expect(wantsColour(pipe, {})).toBe(false)
    expect(wantsColour(tty, { NO_COLOR: '1' })).toBe(false)
    expect(wantsColour(tty, { FORCE_COLOR: '0' })).toBe(false)
    expect(wantsColour(pipe, { FORCE_COLOR: '1' })).toBe(true)
  })

  it('prefixes each line with its name, one colour per name', () => {
    const written: string[] = []
    const write = process.stdout.write
    process.stdout.write = ((chunk: string) => written.push(chunk)) as never
    try {
      const coloured = new PrefixedOutput(true)
      coloured.line('search', 'one')
      coloured.line('files', 'two')
      coloured.line('search', 'three')
      new PrefixedOutput(false).line('gateway', 'plain')
    } finally {
      process.stdout.write = write
    }
    expect(written).toEqual([
      '\u001B[36msearch  |\u001B[0m one\n',
      '\u001B[35mfiles   |\u001B[0m two\n',
      '\u001B[36msearch  |\u001B[0m three\n',
      'gateway | plain\n',
    ])
  })
})

describe('status table', () => {
  it('one row per registration with its figures', () => {
    const lines = statusTable({
      gateway: 'http://127.0.0.1:4000',
      status: 'degraded',
      servers: [
        { id: 'search-1', name: 'search', transport: 'sse', status: 'connected', calls: 12, errors: 1, medianMs: 3.2 },
        { id: 'files-1', name: 'files', transport: 'sse', status: 'error', lastError: 'connect failed: ECONNREFUSED', calls: 0, errors: 0 },
      ],
      quarantined: [],
    })
    expect(lines).toEqual([
      'Gateway http://127.0.0.1:4000: degraded, 2 servers',
      'SERVER  ID        TRANSPORT  STATUS     CALLS  ERRORS  MEDIAN  LAST ERROR',
      'search  search-1  sse        connected  12     1       3.2 ms',
      'files   files-1   sse        error      0      0       -       connect failed: ECONNREFUSED',
    ])
  })

  it('names what airmcp.lock holds back, after the table', () => {
    const lines = statusTable({
      gateway: 'http://127.0.0.1:4000',
      status: 'ok',
      servers: [{ id: 'search-1', name: 'search', transport: 'sse', status: 'connected', calls: 0, errors: 0 }],
      quarantined: [{ server: 'search', kind: 'tool', name: 'search', reason: 'description changed since airmcp.lock' }],
    })
    expect(lines.slice(-3)).toEqual([
      '',
      'Held back by airmcp.lock (1):',
      '  search tool "search": description changed since airmcp.lock',
    ])
  })
})
