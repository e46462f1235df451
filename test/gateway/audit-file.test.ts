import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AuditLog } from '../../src/gateway/security/audit.js'
import { setLogSink } from '../../src/telemetry/log.js'

const dir = mkdtempSync(join(tmpdir(), 'airmcp-audit-file-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const entry = (i: number) => ({
  principal: { name: 'alice', scopes: [], claims: {} },
  method: 'tools/call',
  name: `tool_${i}`,
  outcome: 'ok' as const,
  durationMs: 1,
})

describe('the audit file', () => {
  it('appends whole lines, in order, to what the file held', () => {
    const path = join(dir, 'ordered.jsonl')
    const first = new AuditLog({ file: path })
    first.record(entry(0))
    first.close()
    const second = new AuditLog({ file: path })
    for (let i = 1; i <= 100; i++) second.record(entry(i))
    second.close()
    const names = readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line).name)
    expect(names).toEqual(Array.from({ length: 101 }, (_, i) => `tool_${i}`))
  })

  it('loses the lines, not the process, on a failing disk, and says so once', () => {
    const lines: string[] = []
    const previous = setLogSink((line) => lines.push(line))
    try {
      // Every write to /dev/full fails with ENOSPC.
      const audit = new AuditLog({ file: '/dev/full' })
      for (let i = 0; i < 3; i++) audit.record(entry(i))
      audit.close()
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^Audit file "\/dev\/full" failed: ENOSPC/)
    } finally {
      setLogSink(previous)
    }
  })
})
