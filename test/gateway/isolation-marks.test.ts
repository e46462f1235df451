import { describe, expect, it } from 'vitest'
import { bindCaller, markOwner, needsOwnConnection, OWNER_MARK, ownerMark, releaseOwner, setSessionLevel, soleCaller, takeOwner, wantsLog } from '../../src/gateway/calls/isolation.js'

describe('owner marks', () => {
  it('marks a message with its owner and takes the mark off before it is sent on', () => {
    const owner = {}
    const message = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x', _meta: { trace: 't' } } }
    markOwner(message, ownerMark(owner))
    const taken = takeOwner(message.params)
    expect(taken.owner).toBe(owner)
    expect(taken.params).toEqual({ level: 'info', data: 'x', _meta: { trace: 't' } })
    const bare = { method: 'elicitation/create' } as { method: string; params?: Record<string, unknown> }
    markOwner(bare, ownerMark(owner))
    expect(takeOwner(bare.params).params).toEqual({})
  })

  it('gives one mark per owner, unguessable, and ignores marks a server forged', () => {
    const owner = {}
    expect(ownerMark(owner)).toBe(ownerMark(owner))
    expect(ownerMark({})).not.toBe(ownerMark(owner))
    const forged = takeOwner({ data: 'x', _meta: { [OWNER_MARK]: 'not-a-real-mark' } })
    expect(forged.owner).toBeUndefined()
    expect(forged.marked).toBe(true)
    expect(forged.params).toEqual({ data: 'x' })
    // Responses, and messages routed otherwise (progress goes by its token), stay as they are.
    const response = { id: 1, result: {} }
    markOwner(response as never, ownerMark(owner))
    expect(response).toEqual({ id: 1, result: {} })
    const progress = { method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }
    markOwner(progress, ownerMark(owner))
    expect(progress.params).toEqual({ progressToken: 1, progress: 1 })
  })

  it('a mark released when its request is over names nobody: the message is known to be a finished call\'s', () => {
    const owner = {}
    const mark = ownerMark(owner)
    releaseOwner(owner)
    const late = { method: 'notifications/message', params: { level: 'info', data: 'late' } as Record<string, unknown> }
    markOwner(late, mark)
    expect(takeOwner(late.params)).toMatchObject({ owner: undefined, marked: true, params: { level: 'info', data: 'late' } })
    // A new request of the same owner object gets a new mark.
    expect(ownerMark(owner)).not.toBe(mark)
    expect(takeOwner({ data: 'plain' })).toMatchObject({ owner: undefined, marked: false })
  })
})

describe('attribution without marks', () => {
  it('names the caller only when every call in flight is one session\'s', () => {
    const [s1, s2] = [{}, {}]
    const [a1, a2, b1] = [{}, {}, {}]
    bindCaller(a1, s1)
    bindCaller(a2, s1)
    bindCaller(b1, s2)
    expect(soleCaller([])).toBeUndefined()
    expect(soleCaller([a1])).toBe(a1)
    expect(soleCaller([a1, a2])).toBe(a1)
    expect(soleCaller([a1, b1])).toBeUndefined()
  })

  it('filters logs by the level a session asked for', () => {
    const session = {}
    expect(wantsLog(session, 'debug', true)).toBe(true)
    expect(wantsLog(session, 'debug', false)).toBe(false)
    setSessionLevel(session, 'warning')
    expect(wantsLog(session, 'info', true)).toBe(false)
    expect(wantsLog(session, 'warning', false)).toBe(true)
    expect(wantsLog(session, 'emergency', false)).toBe(true)
  })

  it('gives eliciting or sampling clients their own connection to stdio and SSE upstreams only', () => {
    expect(needsOwnConnection('stdio', { elicitation: {} })).toBe(true)
    expect(needsOwnConnection('sse', { sampling: {} })).toBe(true)
    expect(needsOwnConnection('stdio', {})).toBe(false)
    expect(needsOwnConnection('http', { elicitation: {} })).toBe(false)
  })
})
