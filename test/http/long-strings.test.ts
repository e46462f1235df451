// Long JSON strings read once and written out as the bytes they came in (src/http/long-strings.ts): every
// body parses to what JSON.parse of its text gives (the same errors too), and what is written back is JSON
// of the same value, its long strings the upstream's own bytes.
import { describe, expect, it, vi } from 'vitest'
import { jsonBody, LONG_STRING, parseJsonBytes } from '../../src/http/long-strings.js'

const long = (piece: string, size = LONG_STRING * 4) => piece.repeat(Math.ceil(size / piece.length))

/** A JSON-RPC answer whose result is `result` written as given (a JSON text), padded past the size worth looking at. */
const answer = (result: string) => Buffer.from(`{"jsonrpc":"2.0","id":"airmcp-call-1","result":${result}}`)

/** What JSON.parse of the body's UTF-8 text gives, or the error class it throws. */
function reference(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (error) {
    return (error as Error).constructor
  }
}

function parsed(body: Buffer): unknown {
  try {
    return parseJsonBytes(body)
  } catch (error) {
    return (error as Error).constructor
  }
}

const written = (value: unknown) => Buffer.concat(jsonBody(value))

describe('long strings', () => {
  const escaped = `"${long('caf\\u00e9 \\/ \\"q\\" \\ud83d\\ude00 \\n ')}"`
  const bodies: Record<string, Buffer> = {
    'a long plain string': answer(`{"contents":[{"uri":"ui://a","text":"${long('x')}"}]}`),
    'escapes written as the server chose': answer(`{"content":[{"type":"text","text":${escaped}}]}`),
    'literal UTF-8': answer(`{"text":"${long('héllo wörld ✓ ')}"}`),
    'two long strings and short ones between': answer(`{"a":"${long('a')}","b":[1,"short",{"c":"${long('c')}"}],"d":null}`),
    'a long object key': answer(`{"${long('k')}":1,"text":"${long('v')}"}`),
    'a __proto__ key': answer(`{"__proto__":"${long('p')}","x":{"__proto__":{"polluted":true}}}`),
    'duplicate keys (the last wins)': answer(`{"t":"${long('1')}","t":"${long('2')}"}`),
    'many short strings': answer(JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => `s${i}`), text: long('z') })),
    'whitespace around the tokens': Buffer.from(`{ "jsonrpc" : "2.0" ,\n "id" : 1 ,\r\n\t"result" : { "text" :   "${long('w')}"  } }`),
    'a control character in a long string': answer(`{"text":"${long('x')}\u0001${long('y')}"}`),
    'a bad escape in a long string': answer(`{"text":"${long('x')}\\x"}`),
    'an unterminated long string': Buffer.from(`{"result":{"text":"${long('x')}`),
    'a long string then garbage': answer(`{"text":"${long('x')}"}} trailing`),
    'bytes that are not UTF-8': Buffer.concat([Buffer.from(`{"text":"${long('x')}`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`${long('y')}"}`)]),
    'a string posing as a mark': answer(`{"text":"\\u0000airmcp-long-0000000000000000-0","long":"${long('x')}"}`),
  }

  it.each(Object.entries(bodies))('parses %s as JSON.parse does', (_name, body) => {
    expect(parsed(body)).toEqual(reference(body))
  })

  it.each(Object.entries(bodies))('writes %s back as JSON of the same value', (_name, body) => {
    const value = reference(body)
    if (typeof value === 'function') return
    const read = parseJsonBytes(body)
    expect(JSON.parse(written(read).toString('utf8'))).toEqual(value)
  })

  it('writes a long string as the bytes it came in, once', () => {
    const body = bodies['escapes written as the server chose']!
    const read = parseJsonBytes(body) as { result: { content: { text: string }[] } }
    const text = read.result.content[0]!.text
    // Copied around as the router does (a new result around the same string), then written.
    const out = written({ jsonrpc: '2.0', id: 7, result: { content: [{ ...read.result.content[0], type: 'text' }] } })
    expect(out.includes(Buffer.from(escaped))).toBe(true)
    expect(JSON.parse(out.toString('utf8')).result.content[0].text).toBe(text)
    // JSON.stringify would have written the character itself, not the server's escape.
    expect(JSON.stringify(text).includes('\\u00e9')).toBe(false)
    // Written once: a second write of the same value encodes it anew.
    const again = written({ text })
    expect(again.includes(Buffer.from(escaped))).toBe(false)
    expect(JSON.parse(again.toString('utf8'))).toEqual({ text })
  })

  it('lets go of a text its write did not come for within 10 s', () => {
    const body = bodies['escapes written as the server chose']!
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const read = parseJsonBytes(body)
      vi.setSystemTime(Date.now() + 10_001)
      const out = written(read)
      expect(out.includes(Buffer.from(escaped))).toBe(false)
      expect(JSON.parse(out.toString('utf8'))).toEqual(reference(body))
    } finally {
      vi.useRealTimers()
    }
  })

  it('writes strings that are not UTF-8 anew (as U+FFFD), not as the bytes they came in', () => {
    const read = parseJsonBytes(bodies['bytes that are not UTF-8']!) as { text: string }
    const out = written(read)
    expect(out.includes(Buffer.from([0xff]))).toBe(false)
    expect(JSON.parse(out.toString('utf8')).text).toBe(read.text)
  })

  it('leaves a __proto__ key an own property, and no prototype changed', () => {
    const read = parseJsonBytes(bodies['a __proto__ key']!) as { result: Record<string, unknown> }
    expect(Object.getOwnPropertyDescriptor(read.result, '__proto__')?.value).toBe(long('p'))
    expect(Object.getPrototypeOf(read.result)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('writes values without long strings as JSON.stringify does', () => {
    const value = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'é "q" \u0001' }], n: [1.5, null, true] } }
    expect(jsonBody(value)).toEqual([Buffer.from(JSON.stringify(value))])
  })
})
