// Long JSON strings passed through as they were read: a large answer (an app's HTML, a file's text) is parsed
// once when it arrives, and its long strings are written out again as the bytes they came in, not
// re-escaped and re-encoded.
import { isUtf8 } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { MESSAGE_BYTES } from './send-budget.js'

/** Strings at least this long (UTF-16 units) are kept with their JSON text; shorter ones cost little to write. */
export const LONG_STRING = 16 * 1024
/** Bodies smaller than this are parsed as they are: looking for long strings would not pay. */
const MIN_BODY = 64 * 1024
/**
 * Most bytes kept (the bodies the texts are part of), and how long a text is kept for a write that may
 * never come (its client gone, or a front that writes otherwise): an answer is written as soon as it is read.
 */
const MAX_KEPT_BYTES = 32 * 1024 * 1024
const KEPT_MS = 10_000

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a

/** Stands for a long string in a parsed skeleton or a serialized text: unguessable, so no content can pose as one. */
const MARK = `\u0000airmcp-long-${randomBytes(8).toString('hex')}-`
const QUOTED_MARK = JSON.stringify(MARK).slice(0, -1)

/** A long string's JSON text (quotes included) as it was read, by its value; oldest first. */
const kept = new Map<string, { text: Buffer; at: number }>()
let keptBytes = 0

/** What keeping a text holds: the whole body it is part of. */
const heldBy = (text: Buffer) => text.buffer.byteLength

function forget(value: string): void {
  const entry = kept.get(value)
  if (!entry) return
  kept.delete(value)
  keptBytes -= heldBy(entry.text)
}

/** Lets go of the oldest texts until `room` more bytes fit, and of every text kept too long. */
function prune(room = 0): void {
  const now = Date.now()
  for (const [old, entry] of kept) {
    if (keptBytes + room <= MAX_KEPT_BYTES && now - entry.at < KEPT_MS) break
    forget(old)
  }
}

/** Keeps a string's JSON text (valid UTF-8) for its next write. */
function keep(value: string, text: Buffer): void {
  if (heldBy(text) > MAX_KEPT_BYTES) return
  forget(value)
  prune(heldBy(text))
  kept.set(value, { text, at: Date.now() })
  keptBytes += heldBy(text)
}

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

/**
 * A string literal without escapes or control characters: its value is its bytes between the quotes,
 * found at memory speed rather than parsed.
 */
function isPlain(text: Buffer): boolean {
  if (text.indexOf(BACKSLASH, 1) >= 0) return false
  for (let byte = 0; byte < 0x20; byte++) if (text.indexOf(byte) >= 0) return false
  return true
}

/** Puts each long string back in place of its mark in a parsed skeleton (`texts[i]` for mark i), keeping its text. */
function restore(value: unknown, texts: Buffer[]): unknown {
  if (typeof value === 'string') {
    const text = value.startsWith(MARK) ? texts[Number(value.slice(MARK.length))] : undefined
    if (!text) return value
    // Bytes that are not UTF-8 are read as U+FFFD: such a string is written anew, never passed on as it came.
    const utf8 = isUtf8(text)
    // (Decoded as UTF-8 even when ASCII: Node makes a large latin1 string external memory, which costs full GCs.)
    const string = utf8 && isPlain(text) ? text.toString('utf8', 1, text.length - 1) : (JSON.parse(text.toString('utf8')) as string)
    if (utf8 && string.length >= LONG_STRING) keep(string, text)
    return string
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restore(value[i], texts)
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    for (const key of Object.keys(record)) {
      const item = record[key]
      const restored = restore(item, texts)
      // Defined, not assigned: a key named "__proto__" is the object's own, as JSON.parse made it.
      if (restored !== item) Object.defineProperty(record, key, { value: restored, writable: true, enumerable: true, configurable: true })
    }
  }
  return value
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
 * A value as a JSON body: one buffer, or several when it holds long strings read by parseJsonBytes, each
 * then written as the bytes it came in (once: the text is let go when written).
 */
export function jsonBody(value: unknown): Buffer[] {
  if (kept.size > 0) prune()
  // Encoded once: its length is read off the bytes, not scanned for.
  if (kept.size === 0) return [Buffer.from(JSON.stringify(value))]
  const texts: Buffer[] = []
  const json = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'string' || item.length < LONG_STRING) return item
    const entry = kept.get(item)
    if (!entry) return item
    forget(item)
    texts.push(entry.text)
    return `${MARK}${texts.length - 1}`
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
