// Long JSON strings passed through as they were read: a large answer (an app's HTML, a file's text) is parsed
// once when it arrives, its long strings checked but decoded only if some code reads them, and written out
// again as the bytes they came in, not re-escaped and re-encoded.
import { isUtf8 } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { MESSAGE_BYTES } from './send-budget.js'

/** String literals at least this long (bytes) are kept as their JSON text; shorter ones cost little to read and write. */
export const LONG_STRING = 16 * 1024
/** Bodies smaller than this are parsed as they are: looking for long strings would not pay. */
const MIN_BODY = 64 * 1024
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a

/** Stands for a long string in a parsed skeleton or a serialized text: unguessable, so no content can pose as one. */
const MARK = `\u0000airmcp-long-${randomBytes(8).toString('hex')}-`
const QUOTED_MARK = JSON.stringify(MARK).slice(0, -1)

/**
 * A long string's JSON text (quotes included; valid UTF-8 and valid JSON) as it was read, and its value
 * once something read it (undefined while its property is still the accessor that decodes it).
 */
type LongText = { text: Buffer; escaped: boolean; value?: string }

/** The long strings of each object or array holding some, by key: their bytes live as long as their holder. */
const longTexts = new WeakMap<object, Map<string, LongText>>()
/** Holders not yet collected: while there are none, a write costs no look for them. */
let holders = 0
const collected = new FinalizationRegistry<undefined>(() => void holders--)

/**
 * The string literals of a JSON text at least LONG_STRING bytes long, as [start, end) byte spans, or
 * undefined when looking further would cost more than it saves or a long string is an object key. A
 * look costs a step per string and per escaped quote: the body is let go after many short strings (a
 * large structure, not a large text) or many escaped quotes (re-encoding them would cost no more).
 */
function longLiterals(bytes: Buffer): [number, number][] | undefined {
  const spans: [number, number][] = []
  let shortStrings = 64 + (bytes.length >> 10)
  let escapedQuotes = 64 + (bytes.length >> 4)
  let start = bytes.indexOf(QUOTE)
  while (start >= 0) {
    let end = bytes.indexOf(QUOTE, start + 1)
    // A quote after an odd run of backslashes is part of the string.
    for (;;) {
      if (end < 0) return undefined
      let before = end - 1
      while (bytes[before] === BACKSLASH) before--
      if ((end - 1 - before) % 2 === 0) break
      if (--escapedQuotes < 0) return undefined
      end = bytes.indexOf(QUOTE, end + 1)
    }
    end++
    if (end - start < LONG_STRING) {
      if (--shortStrings < 0) return undefined
    } else {
      let next = end
      while (bytes[next] === 0x20 || bytes[next] === 0x0a || bytes[next] === 0x0d || bytes[next] === 0x09) next++
      if (bytes[next] === COLON) return undefined
      spans.push([start, end])
    }
    start = bytes.indexOf(QUOTE, end)
  }
  return spans
}

/** The escapes JSON has besides `\u`: `\" \\ \/ \b \f \n \r \t`. */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74])
const isHex = (byte: number | undefined) => byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66))
const hasHex4 = (text: Buffer, at: number) => isHex(text[at]) && isHex(text[at + 1]) && isHex(text[at + 2]) && isHex(text[at + 3])

/**
 * How a long literal is read. Left unread until some code reads it when it is valid: no raw control
 * character and every backslash a JSON escape (what JSON asks of a string), found at memory speed; then
 * its value is its bytes between the quotes (`plain`) or the parse of its escapes (`escaped`: an app's
 * bundled HTML has one every 40 to 60 bytes, and checking them costs a fifth of parsing). Read now
 * otherwise: with very many escapes (a parse costs little more), when invalid (so that the parse fails
 * where JSON.parse would), or when its bytes are not UTF-8 (`anew`: read as U+FFFD, never passed on as they came).
 */
function kindOf(text: Buffer): 'plain' | 'escaped' | 'now' | 'anew' {
  if (!isUtf8(text)) return 'anew'
  for (let byte = 0; byte < 0x20; byte++) if (text.indexOf(byte) >= 0) return 'now'
  let at = text.indexOf(BACKSLASH, 1)
  if (at < 0) return 'plain'
  let escapes = text.length >> 4
  for (; at >= 0; at = text.indexOf(BACKSLASH, at)) {
    if (--escapes < 0) return 'now'
    const escaped = text[at + 1]!
    if (escaped === 0x75 && hasHex4(text, at + 2)) at += 6
    else if (ESCAPES.has(escaped)) at += 2
    else return 'now'
  }
  return 'escaped'
}

/** A long string's value, read from its JSON text. */
const decode = (long: LongText): string =>
  // (Decoded as UTF-8 even when ASCII: Node makes a large latin1 string external memory, which costs full GCs.)
  long.escaped ? (JSON.parse(long.text.toString('utf8')) as string) : long.text.toString('utf8', 1, long.text.length - 1)

/** An ordinary property, as JSON.parse makes them. */
const dataProperty = (value: unknown): PropertyDescriptor => ({ value, writable: true, enumerable: true, configurable: true })

/**
 * Puts a long string on its holder, its bytes kept for writing it again. Not read yet (`long.value`
 * undefined), the property is an accessor that reads it the first time some code does, then becomes an
 * ordinary property: code that reads it sees what JSON.parse would have given, code that passes it on
 * never pays for decoding it.
 */
function holdLong(holder: object, key: string, long: LongText): void {
  let longs = longTexts.get(holder)
  if (!longs) {
    longs = new Map()
    longTexts.set(holder, longs)
    holders++
    collected.register(holder, undefined)
  }
  longs.set(key, long)
  // Defined, not assigned: a key named "__proto__" is the object's own, as JSON.parse made it.
  if (long.value !== undefined) return void Object.defineProperty(holder, key, dataProperty(long.value))
  const held = longs
  Object.defineProperty(holder, key, {
    get() {
      long.value ??= decode(long)
      Object.defineProperty(holder, key, dataProperty(long.value))
      return long.value
    },
    set(this: object, value: unknown) {
      // Assigned through an object inheriting from the holder: that object gets its own property, as with a data one.
      if (this === holder) held.delete(key)
      Object.defineProperty(this, key, dataProperty(value))
    },
    enumerable: true,
    configurable: true,
  })
}

/** Puts a long string read from `text` in place of its mark, at `key` of its holder. */
function placeLong(holder: object, key: string, text: Buffer): void {
  const kind = kindOf(text)
  if (kind === 'plain' || kind === 'escaped') return holdLong(holder, key, { text, escaped: kind === 'escaped' })
  // Read now (JSON.parse throws here for an invalid one); written again as it came unless not UTF-8.
  const value = JSON.parse(text.toString('utf8')) as string
  if (kind === 'now') holdLong(holder, key, { text, escaped: true, value })
  else Object.defineProperty(holder, key, dataProperty(value))
}

/** Whether a long string is still the value it was read as: unread (its accessor not run), or read and unchanged. */
const isAsRead = (holder: object, key: string, long: LongText) =>
  long.value === undefined || (holder as Record<string, unknown>)[key] === long.value

/** The long string a mark stands for (`texts[i]` for mark i), if `value` is one. */
const markedText = (value: unknown, texts: Buffer[]) =>
  typeof value === 'string' && value.startsWith(MARK) ? texts[Number(value.slice(MARK.length))] : undefined

/** Puts each long string back in place of its mark in a parsed skeleton. */
function restore(value: unknown, texts: Buffer[]): unknown {
  const whole = markedText(value, texts)
  if (whole) return JSON.parse(whole.toString('utf8'))
  if (value === null || typeof value !== 'object') return value
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    const item = record[key]
    const text = markedText(item, texts)
    if (text) placeLong(record, key, text)
    else if (item !== null && typeof item === 'object') restore(item, texts)
  }
  return value
}

/**
 * A shallow copy of an object, as `{ ...value }` makes, whose long strings not yet read stay unread (and
 * are written as they came): for code that passes an answer on with a field changed.
 */
export function shallowCopy<T extends object>(value: T): T {
  const longs = longTexts.get(value)
  if (!longs) return { ...value }
  const copy = {} as T
  for (const key of Object.keys(value)) {
    const long = longs.get(key)
    if (long !== undefined && isAsRead(value, key, long)) holdLong(copy, key, { ...long })
    else Object.defineProperty(copy, key, dataProperty((value as Record<string, unknown>)[key]))
  }
  return copy
}

/**
 * A JSON body parsed like JSON.parse of its UTF-8 text (the same value, the same errors), its long strings
 * kept with the bytes they came in so that writing them again (jsonBody) costs no re-encoding.
 */
export function parseJsonBytes(bytes: Buffer): unknown {
  const spans = bytes.length >= MIN_BODY ? longLiterals(bytes) : undefined
  if (!spans?.length) return JSON.parse(bytes.toString('utf8'))
  // The text around the long strings, each replaced by its mark, is parsed as a whole: a body that is not
  // JSON fails as it would have, and each long string is parsed on its own.
  let skeleton = ''
  let from = 0
  const texts: Buffer[] = []
  for (const [start, end] of spans) {
    skeleton += `${bytes.toString('utf8', from, start)}${QUOTED_MARK}${texts.length}"`
    texts.push(bytes.subarray(start, end))
    from = end
  }
  skeleton += bytes.toString('utf8', from)
  return restore(JSON.parse(skeleton), texts)
}

/**
 * A holder of long strings as it is written: a shallow copy with a mark (`texts[i]` for mark i) in place
 * of each long string still as it was read, its accessor not run.
 */
function withMarks(holder: object, longs: Map<string, LongText>, texts: Buffer[]): object {
  const copy: object = Array.isArray(holder) ? new Array(holder.length) : {}
  for (const key of Object.keys(holder)) {
    const long = longs.get(key)
    const asRead = long !== undefined && isAsRead(holder, key, long)
    if (asRead) texts.push(long.text)
    Object.defineProperty(copy, key, dataProperty(asRead ? `${MARK}${texts.length - 1}` : (holder as Record<string, unknown>)[key]))
  }
  return copy
}

/**
 * A value as a JSON body: one buffer, or several when it holds long strings read by parseJsonBytes, each
 * then written as the bytes it came in.
 */
export function jsonBody(value: unknown): Buffer[] {
  // Encoded once: its length is read off the bytes, not scanned for.
  if (holders === 0) return [Buffer.from(JSON.stringify(value))]
  const texts: Buffer[] = []
  const json = JSON.stringify(value, (_key, item: unknown) => {
    const longs = item !== null && typeof item === 'object' ? longTexts.get(item) : undefined
    return longs ? withMarks(item as object, longs, texts) : item
  })
  if (!texts.length) return [Buffer.from(json)]
  const parts: Buffer[] = []
  let from = 0
  for (let i = 0; i < texts.length; i++) {
    const mark = `${QUOTED_MARK}${i}"`
    const at = json.indexOf(mark, from)
    parts.push(Buffer.from(json.slice(from, at)), texts[i]!)
    from = at + mark.length
  }
  parts.push(Buffer.from(json.slice(from)))
  return parts
}

/**
 * Answers with a value as a whole JSON body (jsonBody), its length given: unchunked, less framing for
 * both ends to write and parse.
 */
export function endWithJson(res: ServerResponse, status: number, headers: Record<string, string>, value: unknown): void {
  if (holders === 0) {
    // No long string anywhere: the text as it is, which node:http sends with the head in one write.
    const json = JSON.stringify(value)
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(json)) })
    return void res.end(json)
  }
  const body = jsonBody(value)
  let length = 0
  for (const part of body) length += part.length
  res.writeHead(status, { ...headers, 'content-length': String(length) })
  if (body.length === 1) return void res.end(body[0])
  // Written together (one writev), the long strings' buffers as they are: not copied into a fresh buffer,
  // whose pages the kernel would have to map first. A client's send budget counts the parts as one message.
  Object.assign(res, { [MESSAGE_BYTES]: length })
  res.cork()
  for (let i = 0; i < body.length - 1; i++) res.write(body[i])
  res.end(body[body.length - 1])
  res.uncork()
}
