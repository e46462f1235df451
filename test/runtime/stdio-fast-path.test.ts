import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { plainToolCallParams as plainCallParams } from '../../dist/http/jsonrpc.js'
import { RELATED_REQUEST_META } from '../../dist/runtime/stdio-wire.js'
import { RawStdioSession, type Message } from '../helpers/raw-stdio.js'

const FIXTURE = 'fixtures/servers/stdio-calls.ts'

type Params = { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> }

/**
 * A 2025 stdio session's well-formed tools/call is answered by airmcp itself; the same call with one more
 * params member (which the SDK drops and the fast path does not take) goes through the SDK's protocol layer.
 * Every test sends both and expects the same bytes back, ids aside.
 */
const PATHS = {
  fast: (params: Params) => params,
  sdk: (params: Params) => ({ ...params, via: 'sdk' }),
}
const PATH_NAMES = ['fast', 'sdk'] as const

describe('a 2025-11-25 stdio session: tools/call on the fast path answers exactly as the SDK path does', () => {
  let session: RawStdioSession

  beforeAll(async () => {
    session = await RawStdioSession.open(FIXTURE, { elicitation: {}, sampling: {}, roots: {} })
  })
  afterAll(() => session?.close())

  const call = (params: Record<string, unknown>) => session.request('tools/call', params)
  const answerOf = ({ id: _id, ...rest }: Message) => rest
  /** The call on both paths; their answers must be identical. */
  async function onBothPaths(params: Params): Promise<Message> {
    const fast = await call(PATHS.fast(params))
    const sdk = await call(PATHS.sdk(params))
    expect(answerOf(fast)).toEqual(answerOf(sdk))
    return fast
  }
  /** The messages the server wrote while one call ran (they come before its answer on the wire). */
  async function withNotifications(params: Record<string, unknown>): Promise<{ answer: Message; notes: Message[] }> {
    const from = session.received.length
    const answer = await call(params)
    const end = session.received.indexOf(answer)
    return { answer, notes: session.received.slice(from, end).filter((m) => m.method?.startsWith('notifications/')) }
  }

  it('takes only calls the SDK would accept unchanged, and leaves the rest to it', () => {
    const request = (params: unknown, id: unknown = 1) => ({ jsonrpc: '2.0', id, method: 'tools/call', params }) as never
    expect(plainCallParams(request(PATHS.fast({ name: 'echo', arguments: { text: 'a' } })))).toBeDefined()
    expect(plainCallParams(request({ name: 'echo', _meta: { progressToken: 7, traceparent: '00-x' } }))).toBeDefined()
    expect(plainCallParams(request(PATHS.sdk({ name: 'echo', arguments: { text: 'a' } })))).toBeUndefined()
    expect(plainCallParams(request({ name: 'echo', arguments: ['a'] }))).toBeUndefined()
    expect(plainCallParams(request({ name: 5 }))).toBeUndefined()
    expect(plainCallParams(request({ name: 'echo', _meta: { progressToken: 1.5 } }))).toBeUndefined()
    expect(plainCallParams(request({ name: 'echo', _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } }))).toBeUndefined()
    expect(plainCallParams(request({ name: 'echo' }, null))).toBeUndefined()
  })

  it('results: text, arrays, objects and content blocks', async () => {
    expect((await onBothPaths({ name: 'echo', arguments: { text: 'ab', times: 2 } })).result).toEqual({ content: [{ type: 'text', text: 'abab' }] })
    expect((await onBothPaths({ name: 'list', arguments: {} })).result).toEqual({
      content: [{ type: 'text', text: '[1,2,3]' }],
      structuredContent: { items: [1, 2, 3] },
    })
    expect((await onBothPaths({ name: 'object' })).result.structuredContent).toEqual({ a: 1, nested: { b: [true, null] } })
    expect((await onBothPaths({ name: 'contents', arguments: {} })).result.content).toEqual([
      { type: 'text', text: 'hello', annotations: { priority: 1 } },
      { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
      { type: 'resource_link', uri: 'note://a', name: 'a' },
    ])
  })

  it('errors: a throwing tool, an isError result, bad arguments, an unknown tool, a result the schema refuses', async () => {
    expect((await onBothPaths({ name: 'fail', arguments: {} })).result).toEqual({ content: [{ type: 'text', text: 'it broke' }], isError: true })
    expect((await onBothPaths({ name: 'explicit_error', arguments: {} })).result).toEqual({ content: [{ type: 'text', text: 'bad' }], isError: true })
    const invalid = await onBothPaths({ name: 'echo', arguments: { text: 5 } })
    expect(invalid.result.isError).toBe(true)
    expect(invalid.result.content[0].text).toMatch(/^Invalid arguments for tool "echo": text: .*expected string/i)
    expect((await onBothPaths({ name: 'echo' })).result.isError).toBe(true)
    const unknown = await onBothPaths({ name: 'nope', arguments: {} })
    expect(unknown.error).toEqual({ code: -32602, message: expect.stringMatching(/^Unknown tool "nope"\. Available: echo, list, /) })
    const malformed = await onBothPaths({ name: 'malformed', arguments: {} })
    expect(malformed.error).toEqual({ code: -32602, message: expect.stringMatching(/^Invalid tools\/call result: /) })
    // The session keeps serving.
    expect((await call({ name: 'echo', arguments: { text: 'still here' } })).result.content[0].text).toBe('still here')
  })

  it('progress goes to the request\'s token, on either path', async () => {
    for (const [path, token] of [['fast', 'p-1'], ['sdk', 'p-2'], ['fast', 42]] as const) {
      const { answer, notes } = await withNotifications(PATHS[path]({ name: 'progress', arguments: { steps: 3 }, _meta: { progressToken: token } }))
      expect(answer.result.content[0].text).toBe('done')
      expect(notes).toEqual([1, 2, 3].map((n) => ({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: n, total: 3, message: `step ${n}` } })))
    }
    expect((await withNotifications({ name: 'progress', arguments: { steps: 2 } })).notes).toEqual([])
  })

  it('logs respect the level the client set with logging/setLevel', async () => {
    const levelsOf = async (path: (typeof PATH_NAMES)[number]) =>
      (await withNotifications(PATHS[path]({ name: 'log', arguments: {} }))).notes.map((m) => [m.method, m.params.level, m.params.data])
    for (const path of PATH_NAMES) {
      expect(await levelsOf(path)).toEqual([
        ['notifications/message', 'debug', 'a debug line'],
        ['notifications/message', 'warning', { note: 'a warning' }],
      ])
    }
    expect((await session.request('logging/setLevel', { level: 'warning' })).result).toEqual({})
    for (const path of PATH_NAMES) expect(await levelsOf(path)).toEqual([['notifications/message', 'warning', { note: 'a warning' }]])
    await session.request('logging/setLevel', { level: 'debug' })
  })

  it('asks the client (elicitation, sampling, roots) and gets its answers', async () => {
    session.answer('elicitation/create', () => ({ action: 'accept', content: { name: 'Ada' } }))
    session.answer('sampling/createMessage', () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'roses' } }))
    session.answer('roots/list', () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }))
    const from = session.received.length
    const answer = await onBothPaths({ name: 'interview', arguments: {} })
    expect(answer.result.structuredContent).toEqual({ name: { name: 'Ada' }, poem: 'roses', roots: ['file:///work'], capabilities: ['elicitation', 'roots', 'sampling'] })
    const asked = session.received.slice(from).filter((m) => m.method !== undefined && m.id !== undefined)
    expect(asked.map((m) => m.method)).toEqual(['elicitation/create', 'sampling/createMessage', 'roots/list', 'elicitation/create', 'sampling/createMessage', 'roots/list'])
    expect(asked[0].params).toEqual({
      message: 'Your name?',
      requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      _meta: { [RELATED_REQUEST_META]: expect.anything() },
    })
    // Each question names the call it belongs to (a gateway in front asks that call's client), on both paths alike.
    const calls = asked.map((m) => (m.params._meta as Record<string, unknown>)[RELATED_REQUEST_META])
    expect(new Set(calls.slice(0, 3)).size).toBe(1)
    expect(new Set(calls.slice(3)).size).toBe(1)
    expect(calls[0]).not.toBe(calls[3])
  })

  it('notifications/cancelled aborts the call\'s signal with its reason, and the call gets no answer', async () => {
    const ids: number[] = []
    for (const path of PATH_NAMES) {
      const id = session.id()
      ids.push(id)
      const from = session.received.length
      session.write({ jsonrpc: '2.0', id, method: 'tools/call', params: PATHS[path]({ name: 'slow', arguments: {} }) })
      await session.waitFor((m) => m.method === 'notifications/message' && m.params.data === 'slow started', from)
      session.write({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: `stop ${path}` } })
    }
    const aborts = async () => (await call({ name: 'aborts', arguments: {} })).result.structuredContent.aborts
    await expect.poll(aborts).toEqual(['stop fast', 'stop sdk'])
    expect(session.received.filter((m) => m.method === undefined && ids.includes(m.id as number))).toEqual([])
  })

  it('plugins wrap every call on both paths (a recorder, and the cache answering the second call)', async () => {
    const first = await onBothPaths({ name: 'count', arguments: {} })
    expect(first.result.content[0].text).toMatch(/^\d+$/)
    const { seen } = (await call({ name: 'seen', arguments: {} })).result.structuredContent
    expect(seen.slice(-3)).toEqual(['count', 'count', 'seen'])
  })
})

describe('2026-07-28 over stdio: tools/call read by the codec answers exactly as the SDK path does', () => {
  let session: RawStdioSession
  const capabilities = { elicitation: {} }
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  }
  const withEnvelope = (params: Params) => ({ ...params, _meta: { ...params._meta, ...envelope } })

  beforeAll(() => {
    session = RawStdioSession.start(FIXTURE)
  })
  afterAll(() => session?.close())

  const call = (params: Record<string, unknown>) => session.request('tools/call', params)
  const answerOf = ({ id: _id, ...rest }: Message) => rest
  async function onBothPaths(params: Params): Promise<Message> {
    const fast = await call(withEnvelope(PATHS.fast(params)))
    const sdk = await call(withEnvelope(PATHS.sdk(params)))
    expect(answerOf(fast)).toEqual(answerOf(sdk))
    return fast
  }

  it('takes only calls with a plain 2026 envelope, and leaves the rest to the SDK', () => {
    const request = (params: Params) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: withEnvelope(params) }) as never
    const envelopeOnly = (key: string, value: unknown) => key === 'io.modelcontextprotocol/protocolVersion' && value === '2026-07-28'
    expect(plainCallParams({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } }, envelopeOnly)).toBeDefined()
    expect(plainCallParams(request({ name: 'echo' }))).toBeUndefined()
    expect(plainCallParams(request({ name: 'echo' }), envelopeOnly)).toBeUndefined()
  })

  it('results, errors and a result the schema refuses, each with resultType and the server\'s identity', async () => {
    const echoed = await onBothPaths({ name: 'echo', arguments: { text: 'ab', times: 2 } })
    expect(echoed.result).toEqual({ content: [{ type: 'text', text: 'abab' }], resultType: 'complete', _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'stdio-calls', version: '1.0.0' } } })
    expect((await onBothPaths({ name: 'list', arguments: {} })).result.structuredContent).toEqual({ items: [1, 2, 3] })
    expect((await onBothPaths({ name: 'contents', arguments: {} })).result.content).toHaveLength(3)
    expect((await onBothPaths({ name: 'fail', arguments: {} })).result.isError).toBe(true)
    expect((await onBothPaths({ name: 'echo', arguments: { text: 5 } })).result.content[0].text).toMatch(/^Invalid arguments for tool "echo"/)
    expect((await onBothPaths({ name: 'nope', arguments: {} })).error.code).toBe(-32602)
    expect((await onBothPaths({ name: 'malformed', arguments: {} })).error).toEqual({ code: -32602, message: expect.stringMatching(/^Invalid tools\/call result: /) })
  })

  it('progress goes to the request\'s token before the answer; a question ends the round with input_required', async () => {
    for (const path of PATH_NAMES) {
      const from = session.received.length
      const answer = await call(withEnvelope(PATHS[path]({ name: 'progress', arguments: { steps: 2 }, _meta: { progressToken: `t-${path}` } })))
      const notes = session.received.slice(from, session.received.indexOf(answer)).filter((m) => m.method === 'notifications/progress')
      expect(notes.map((m) => m.params)).toEqual([1, 2].map((n) => ({ progressToken: `t-${path}`, progress: n, total: 2, message: `step ${n}` })))
    }
    // The sealed requestState carries its minting time: the rest of the answer is the same on both paths.
    const [fast, sdk] = await Promise.all(PATH_NAMES.map((path) => call(withEnvelope(PATHS[path]({ name: 'interview', arguments: {} })))))
    const { requestState, ...asked } = fast.result
    expect(typeof requestState).toBe('string')
    expect({ ...sdk.result, requestState: undefined }).toEqual({ ...asked, requestState: undefined })
    expect(asked.resultType).toBe('input_required')
    expect(Object.values(asked.inputRequests).map((r: any) => r.method)).toEqual(['elicitation/create'])
  })

  it('notifications/cancelled aborts the call\'s signal with its reason, and the call gets no answer', async () => {
    const ids: number[] = []
    for (const path of PATH_NAMES) {
      const id = session.id()
      ids.push(id)
      const from = session.received.length
      session.write({ jsonrpc: '2.0', id, method: 'tools/call', params: withEnvelope(PATHS[path]({ name: 'slow', arguments: {}, _meta: { progressToken: id } })) })
      await session.waitFor((m) => m.method === 'notifications/progress' && m.params.progressToken === id, from)
      session.write({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: `stop ${path}` } })
    }
    const aborts = async () => (await call(withEnvelope({ name: 'aborts', arguments: {} }))).result.structuredContent.aborts
    await expect.poll(aborts).toEqual(['stop fast', 'stop sdk'])
    expect(session.received.filter((m) => m.method === undefined && ids.includes(m.id as number))).toEqual([])
  })
})
