// The small pieces behind issue 15's fixes, on their own (test/hostile/ exercises them through a real gateway).
import { describe, expect, it } from 'vitest'
import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client'
import {
  classifyFailure,
  GatewayError,
  httpStatusFailure,
  redact,
  secretsOf,
  upstreamErrorText,
  UpstreamBusyError,
  UpstreamTransportError,
} from '../../dist/gateway/errors.js'
import { LineReader, responseIdOf } from '../../dist/gateway/upstreams/line-reader.js'
import { assertDepth, Semaphore } from '../../dist/gateway/security/limits.js'
import { isSessionGone } from '../../dist/gateway/upstreams/session-resume.js'
import { bearerMatches } from '../../dist/http/bearer.js'
import { hostnameOfHostHeader } from '../../dist/http/loopback.js'
import { isLoopbackHost as isLoopbackHostname } from '../../dist/names.js'
import { INVALID_PARAMS, SERVER_ERROR } from '../../dist/protocol/codes.js'

describe('loopback names', () => {
  it('accepts only real loopback names', () => {
    for (const name of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '[::1]', '::1', 'localhost.']) {
      expect(isLoopbackHostname(name), name).toBe(true)
    }
    for (const name of ['127.0.0.1.evil.example', '127.evil', '127.0.0.256', '1127.0.0.1', '128.0.0.1', '', 'localhost.evil']) {
      expect(isLoopbackHostname(name), name).toBe(false)
    }
  })
  it('reads the hostname of a Host header', () => {
    expect(hostnameOfHostHeader('127.0.0.1:4000')).toBe('127.0.0.1')
    expect(hostnameOfHostHeader('[::1]:4000')).toBe('[::1]')
    expect(hostnameOfHostHeader('Example.com')).toBe('example.com')
    expect(hostnameOfHostHeader('127.0.0.1:4000x')).toBe('')
    expect(hostnameOfHostHeader('[::1]evil')).toBe('')
  })
})

describe('bearer tokens', () => {
  it('takes the scheme in any case and the token exactly', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true)
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true)
    expect(bearerMatches('BEARER  s3cret ', 's3cret')).toBe(true)
    expect(bearerMatches('Bearer s3cret2', 's3cret')).toBe(false)
    expect(bearerMatches('Basic s3cret', 's3cret')).toBe(false)
    expect(bearerMatches(undefined, 's3cret')).toBe(false)
    expect(bearerMatches('s3cret', 's3cret')).toBe(false)
  })
})

describe('errors', () => {
  it('classifies once: the connection versus one request', () => {
    expect(classifyFailure(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe('transport')
    expect(classifyFailure(new TypeError('fetch failed', { cause: { code: 'UND_ERR_SOCKET' } }))).toBe('transport')
    expect(classifyFailure(new UpstreamTransportError('HTTP 502'))).toBe('transport')
    expect(classifyFailure(new RangeError('Maximum call stack size exceeded'))).toBe('request')
    expect(classifyFailure(new TypeError('Converting circular structure to JSON'))).toBe('request')
    expect(classifyFailure(new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed'))).toBe('transport')
    expect(classifyFailure(new UpstreamBusyError('HTTP 429', 7))).toBe('busy')
    // An error answer that arrived is never the connection's, whatever its code or words (issue 28 item 4).
    expect(classifyFailure(new ProtocolError(-32000, 'Connection closed'))).toBe('request')
    expect(classifyFailure(new Error('not connected: socket hang up, fetch failed'))).toBe('request')
  })
  it("keeps the gateway's own errors as written: a code, a message with no code prefix, a failure kind", () => {
    const unknown = new GatewayError(INVALID_PARAMS, 'Unknown tool "x".')
    expect(unknown).toBeInstanceOf(ProtocolError)
    expect(unknown).toMatchObject({ code: INVALID_PARAMS, message: 'Unknown tool "x".', failure: 'request' })
    expect(classifyFailure(unknown)).toBe('request')
    expect(new UpstreamTransportError('socket cut')).toMatchObject({ code: SERVER_ERROR, message: 'socket cut', failure: 'transport' })
    let deep: Record<string, unknown> = {}
    for (let i = 0; i < 70; i++) deep = { deep }
    expect(() => assertDepth(deep, 64, 'x')).toThrow(expect.objectContaining({ code: INVALID_PARAMS, message: expect.stringMatching(/^The arguments of x nest/) }))
  })
  it('reads an upstream HTTP status by type, never by the words of a message', () => {
    const gone = httpStatusFailure(404, 'http://u/mcp')
    expect([classifyFailure(gone), isSessionGone(gone)]).toEqual(['transport', true])
    expect([classifyFailure(httpStatusFailure(502, 'u')), isSessionGone(httpStatusFailure(502, 'u'))]).toEqual(['transport', false])
    expect(classifyFailure(httpStatusFailure(429, 'u', '3'))).toBe('busy')
    expect(classifyFailure(httpStatusFailure(400, 'u'))).toBe('request')
    // The same words from anywhere else (a server's error text) say nothing.
    expect(isSessionGone(new Error('HTTP 404 from http://u/mcp'))).toBe(false)
    expect(isSessionGone(new ProtocolError(SERVER_ERROR, 'HTTP 404 from http://u/mcp'))).toBe(false)
  })
  it('redacts in linear time and cuts the error text of an upstream to 4,096 characters', () => {
    const n = 160 * 1024
    for (const text of ['a.'.repeat(n / 2), `http://h/${')'.repeat(n)}x`, `http://h/?${Array.from({ length: n / 8 }, (_, i) => `k${i}=v`).join('&')}`]) {
      const cut = upstreamErrorText(`${text} http://u:pw@h/?key=s3cret-value`, ['s3cret-value'])
      expect(cut.length).toBeLessThan(4200)
      expect(cut).not.toContain('s3cret')
      expect(redact(text).length).toBeGreaterThan(0)
    }
    // A secret across the cut is still recognised: redacted first, cut after.
    expect(upstreamErrorText(`${'x'.repeat(4090)} t=s3cret-value`, ['s3cret-value'])).toBe(`${'x'.repeat(4090)} t=***… (9 more characters cut)`)
  })
  it('redacts URL credentials, query values, quoted bodies and known secrets', () => {
    expect(redact('connect failed: HTTP 500 from http://u:pw@h:1/mcp?api_key=abc&x=1.')).toBe(
      'connect failed: HTTP 500 from http://h:1/mcp?api_key=***&x=***.',
    )
    expect(redact('Error POSTing to endpoint (HTTP 500): token=abc')).toBe('Error POSTing to endpoint (HTTP 500)')
    expect(redact('sent Bearer tok-1234', ['tok-1234'])).toBe('sent Bearer ***')
    expect(secretsOf({ url: 'http://u:pw12@h/?k=value', headers: { authorization: 'Bearer tok-1234' } })).toEqual([
      'Bearer tok-1234',
      'tok-1234',
      'pw12',
      'value',
    ])
  })
})

describe('the stdio line reader', () => {
  it('splits lines across chunks and drops a line over the cap, reporting both ends', () => {
    const lines: string[] = []
    const dropped: { bytes: number; head: string; tail: string }[] = []
    const reader = new LineReader(16, (l) => lines.push(l), (l) => dropped.push(l))
    reader.push(Buffer.from('{"a":1}\n{"b"'))
    reader.push(Buffer.from(':2}\r\n'))
    reader.push(Buffer.from(`{"result":"${'x'.repeat(40)}"`))
    reader.push(Buffer.from(',"jsonrpc":"2.0","id":7}\n{"c":3}\n'))
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}'])
    expect(dropped).toHaveLength(1)
    expect(dropped[0].bytes).toBe(76)
    expect(responseIdOf(dropped[0])).toBe(7)
    expect(responseIdOf({ bytes: 99, head: '{"jsonrpc":"2.0","id":"a-1","result":{', tail: 'x' })).toBe('a-1')
    // A request or notification from the server is not a response: no id to fail.
    expect(responseIdOf({ bytes: 99, head: '{"method":"x","params":{', tail: ',"jsonrpc":"2.0","id":3}' })).toBeUndefined()
  })
})

describe('limits', () => {
  it('a semaphore queues past its limit and drops a waiter whose signal aborts', async () => {
    const semaphore = new Semaphore(1)
    const first = await semaphore.acquire()
    const controller = new AbortController()
    const aborted = semaphore.acquire(controller.signal)
    const second = semaphore.acquire()
    controller.abort(new Error('gone'))
    await expect(aborted).rejects.toThrow('gone')
    first()
    const release = await second
    expect(semaphore.busy).toBe(1)
    release()
    release()
    expect(semaphore.idle).toBe(true)
  })
  it('refuses params nested deeper than the limit without recursing', () => {
    let deep: unknown = 1
    for (let i = 0; i < 200_000; i++) deep = { a: deep }
    expect(() => assertDepth(deep, 64, 'tools/call "x"')).toThrow(/nest deeper than 64 levels/)
    expect(() => assertDepth({ a: [{ b: 1 }] }, 64, 'x')).not.toThrow()
  })
})
