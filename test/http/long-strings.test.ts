// Long JSON strings read once and written out as the bytes they came in (src/http/long-strings.ts): every
// body parses to what JSON.parse of its text gives (the same errors too), its long strings decoded only when
// read, and what is written back is JSON of the same value however it was read, copied or changed, its long
// strings the upstream's own bytes.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { jsonBody, LONG_STRING, parseJsonBytes, shallowCopy } from '../../src/http/long-strings.js'
import { ROOT } from '../helpers/processes.js'

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
const rewritten = (value: unknown): unknown => JSON.parse(written(value).toString('utf8'))

type Tree = Record<string, unknown>
const isTree = (value: unknown): value is Tree => value !== null && typeof value === 'object'

/** Every object and array of a value, by their property descriptors (no getter run). */
function* holdersOf(value: unknown): Generator<Tree> {
  if (!isTree(value)) return
  yield value
  for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(value))) yield* holdersOf(descriptor.value)
}

/** The keys of a holder's long strings: still unread (an accessor), or read (a long data string). */
const longKeys = (holder: Tree) =>
  Object.entries(Object.getOwnPropertyDescriptors(holder))
    .filter(([, d]) => d.get !== undefined || (typeof d.value === 'string' && d.value.length >= LONG_STRING))
    .map(([key]) => key)

/** A deep copy made with spreads, as code passing an answer on may do (each long string read). */
const spreadAll = (value: unknown): unknown =>
  Array.isArray(value) ? [...value].map(spreadAll) : isTree(value) ? Object.fromEntries(Object.entries({ ...value }).map(([k, v]) => [k, spreadAll(v)])) : value

/** A deep copy made with shallowCopy (long strings left unread). */
function copyAll(value: unknown): unknown {
  if (!isTree(value) || Array.isArray(value)) return value
  const copy = shallowCopy(value)
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(copy))) if (isTree(d.value)) copy[key] = copyAll(d.value)
  return copy
}

/** Sets every long string of a value to another (assigned, not read first). */
function replaceLong(value: unknown): unknown {
  for (const holder of [...holdersOf(value)]) for (const key of longKeys(holder)) holder[key] = `new ${key}`
  return value
}

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
    'a few escapes': answer(`{"text":"${long('x')}\\n\\u00e9\\\\ \\"q\\" \\ud83d\\ude00${long('y')}\\\\"}`),
    'a long string in an array': answer(`{"items":["${long('a')}",2,"${long('b')}\\t"]}`),
    'a whole body that is a long string': Buffer.from(`"${long('x', 80 * 1024)}"`),
    'a bad \\u escape in a long string': answer(`{"text":"${long('x')}\\u12G4${long('y')}"}`),
    'a \\u escape cut by the closing quote': answer(`{"text":"${long('x')}\\u12"}`),
    'a raw tab in a long string': answer(`{"text":"${long('x')}\t"}`),
    'a string posing as a mark': answer(`{"text":"\\u0000airmcp-long-0000000000000000-0","long":"${long('x')}"}`),
  }

  it.each(Object.entries(bodies))('parses %s as JSON.parse does', (_name, body) => {
    expect(parsed(body)).toEqual(reference(body))
  })

  const valid = Object.entries(bodies).filter(([, body]) => typeof reference(body) !== 'function')

  it.each(valid)('writes %s back as JSON of the same value, read or not, copied or changed', (_name, body) => {
    const value = reference(body)
    // Unread, then read (toEqual reads every property), then read again.
    const read = parseJsonBytes(body)
    expect(rewritten(read)).toEqual(value)
    expect(read).toEqual(value)
    expect(rewritten(read)).toEqual(value)
    expect(rewritten(spreadAll(parseJsonBytes(body)))).toEqual(value)
    expect(rewritten(copyAll(parseJsonBytes(body)))).toEqual(value)
    expect(rewritten(structuredClone(parseJsonBytes(body)))).toEqual(value)
    // Changed unread, and changed after a read.
    expect(rewritten(replaceLong(parseJsonBytes(body)))).toEqual(replaceLong(structuredClone(value)))
    const readFirst = parseJsonBytes(body)
    JSON.stringify(readFirst)
    expect(rewritten(replaceLong(readFirst))).toEqual(replaceLong(structuredClone(value)))
  })

  it('leaves a long string unread until some code reads it, then an ordinary property', () => {
    const read = parseJsonBytes(bodies['a few escapes']!) as { result: Tree }
    const expected = (reference(bodies['a few escapes']!) as { result: Tree }).result.text
    expect(Object.getOwnPropertyDescriptor(read.result, 'text')?.get).toBeDefined()
    expect(Object.keys(read.result)).toEqual(['text'])
    expect(read.result.text).toBe(expected)
    expect(Object.getOwnPropertyDescriptor(read.result, 'text')).toEqual({ value: expected, writable: true, enumerable: true, configurable: true })
  })

  it('writes a long string as the bytes it came in: unread, read, or copied unread; anew once changed', () => {
    // A few escapes, written as the server chose (JSON.stringify would write `é` itself, not `\\u00e9`).
    const fewEscapes = `"${long('x')}\\u00e9 \\/ \\"q\\"${long('y')}"`
    const body = answer(`{"content":[{"type":"image","text":${fewEscapes}}]}`)
    const text = (reference(body) as { result: { content: { text: string }[] } }).result.content[0]!.text
    expect(JSON.stringify(text).includes(fewEscapes)).toBe(false)
    const read = parseJsonBytes(body) as { result: { content: { type: string; text: string }[] } }
    const item = read.result.content[0]!
    // Passed on as the router does: a new result around a copy of the item, its type changed.
    const copy = Object.assign(shallowCopy(item), { type: 'text' })
    expect(Object.getOwnPropertyDescriptor(copy, 'text')?.get).toBeDefined()
    const out = written({ jsonrpc: '2.0', id: 7, result: { content: [copy] } })
    expect(out.includes(Buffer.from(fewEscapes))).toBe(true)
    expect(JSON.parse(out.toString('utf8')).result.content[0].text).toBe(text)
    expect(Object.getOwnPropertyDescriptor(item, 'text')?.get).toBeDefined()
    // Read, unchanged: still the server's bytes.
    expect(item.text).toBe(text)
    expect(written(read).includes(Buffer.from(fewEscapes))).toBe(true)
    // Changed: written anew, the bytes no longer stand for it.
    item.text = `${text}!`
    const again = written(read)
    expect(again.includes(Buffer.from(fewEscapes))).toBe(false)
    expect(JSON.parse(again.toString('utf8')).result.content[0].text).toBe(`${text}!`)
    // A copy made with a spread holds the string, not its bytes.
    expect(written({ text: copy.text }).includes(Buffer.from(fewEscapes))).toBe(false)
  })

  it("leaves an official example app's HTML (an escape every ~45 bytes) unread, and writes it as it came", () => {
    const html = readFileSync(path.join(ROOT, 'node_modules/@modelcontextprotocol/server-basic-vanillajs/dist/mcp-app.html'), 'utf8')
    const literal = JSON.stringify(html)
    const read = parseJsonBytes(answer(`{"contents":[{"uri":"ui://basic/app.html","text":${literal}}]}`)) as { result: { contents: Tree[] } }
    expect(Object.getOwnPropertyDescriptor(read.result.contents[0]!, 'text')?.get).toBeDefined()
    expect(written(read).includes(Buffer.from(literal))).toBe(true)
    expect(read.result.contents[0]!.text).toBe(html)
  })

  it('reads a long string of many escapes at once, and writes it as the bytes it came in', () => {
    const read = parseJsonBytes(bodies['escapes written as the server chose']!) as { result: { content: Tree[] } }
    expect(Object.getOwnPropertyDescriptor(read.result.content[0]!, 'text')?.get).toBeUndefined()
    expect(written(read).includes(Buffer.from(escaped))).toBe(true)
  })

  it('writes strings that are not UTF-8 anew (as U+FFFD), not as the bytes they came in', () => {
    const read = parseJsonBytes(bodies['bytes that are not UTF-8']!) as { text: string }
    const out = written(read)
    expect(out.includes(Buffer.from([0xff]))).toBe(false)
    expect(JSON.parse(out.toString('utf8')).text).toBe(read.text)
  })

  it('leaves a __proto__ key an own property, and no prototype changed', () => {
    const read = parseJsonBytes(bodies['a __proto__ key']!) as { result: Record<string, unknown> }
    expect(Object.keys(read.result)).toEqual(['__proto__', 'x'])
    expect(read.result['__proto__']).toBe(long('p'))
    expect(Object.getOwnPropertyDescriptor(read.result, '__proto__')?.value).toBe(long('p'))
    expect(Object.getPrototypeOf(read.result)).toBe(Object.prototype)
    expect(Object.getPrototypeOf(copyAll(read.result))).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('writes values without long strings as JSON.stringify does', () => {
    const value = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'é "q" \u0001' }], n: [1.5, null, true] } }
    expect(jsonBody(value)).toEqual([Buffer.from(JSON.stringify(value))])
  })
})
