import { describe, expect, it } from 'vitest'
import { Cancellation, cancelledBy, onCancel } from '../../src/gateway/calls/cancellation.js'

describe('Cancellation', () => {
  it('tells its listeners once, and a signal made before or after the abort says the same', () => {
    const before = new Cancellation()
    const early = before.signal
    const heard: unknown[] = []
    before.onAbort((reason) => heard.push(reason))
    const stop = before.onAbort(() => heard.push('stopped listener'))
    stop()
    before.abort('changed my mind')
    before.abort('twice')
    expect(heard).toEqual(['changed my mind'])
    expect(early.aborted).toBe(true)
    expect(early.reason).toBe('changed my mind')

    const after = new Cancellation()
    after.abort()
    expect(after.signal.aborted).toBe(true)
    expect((after.signal.reason as Error).name).toBe('AbortError')
    expect(after.reason).toBe(after.signal.reason)
  })

  it('onCancel and cancelledBy read an AbortSignal first, else the Cancellation', () => {
    const controller = new AbortController()
    const cancellation = new Cancellation()
    const heard: unknown[] = []
    const stop = onCancel({ signal: controller.signal, cancellation }, (reason) => heard.push(reason))
    cancellation.abort('not this one')
    expect(heard).toEqual([])
    expect(cancelledBy({ signal: controller.signal, cancellation })).toBeUndefined()
    stop?.()
    controller.abort('stopped')
    expect(heard).toEqual([])

    const direct = new Cancellation()
    onCancel({ cancellation: direct }, (reason) => heard.push(reason))
    direct.abort('direct')
    expect(heard).toEqual(['direct'])
    expect(cancelledBy({ cancellation: direct })).toEqual({ reason: 'direct' })
    expect(cancelledBy({})).toBeUndefined()
  })
})
