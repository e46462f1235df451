import { describe, expect, it } from 'vitest'
import { CallStats } from '../../src/gateway/upstreams/call-stats.js'

describe('CallStats: the last error', () => {
  it('keeps the text of the last failed call and when, and nothing for calls that succeed', () => {
    const stats = new CallStats()
    stats.recordResult(3, { content: [{ type: 'text', text: 'fine' }] }, [])
    expect(stats.snapshot().lastCallError).toBeUndefined()
    const before = Date.now()
    stats.recordResult(4, { isError: true, content: [{ type: 'text', text: 'first' }, { type: 'text', text: 'line' }] }, [])
    stats.recordError(5, new Error('Request timed out'), [])
    stats.recordResult(6, { content: [{ type: 'text', text: 'fine again' }] }, [])
    const snapshot = stats.snapshot()
    expect(snapshot).toMatchObject({ calls: 4, errors: 2, lastCallError: { message: 'Request timed out' } })
    expect(Date.parse(snapshot.lastCallError!.at)).toBeGreaterThanOrEqual(before)
    stats.recordResult(4, { isError: true, content: [{ type: 'text', text: 'first' }, { type: 'text', text: 'line' }] }, [])
    expect(stats.snapshot().lastCallError!.message).toBe('first\nline')
  })

  it('redacts secrets and URL credentials before it cuts, and keeps at most 500 characters', () => {
    const stats = new CallStats()
    stats.recordError(1, new Error('failed with header s3cr3t-value at http://user:pw@example.com/x?api_key=k'), ['s3cr3t-value'])
    expect(stats.snapshot().lastCallError!.message).toBe('failed with header *** at http://example.com/x?api_key=***')
    stats.recordResult(1, { isError: true, content: [{ type: 'text', text: `${'x'.repeat(100_000)}` }] }, [])
    expect(stats.snapshot().lastCallError!.message).toHaveLength(500)
  })
})
