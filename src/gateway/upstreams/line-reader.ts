/** What is known of a line that was too long to keep: its size and both ends (enough to find its id). */
export interface OversizedLine {
  bytes: number
  head: string
  tail: string
}

const EDGE = 512

const utf8 = (line: Buffer) => line.toString('utf8')

/** A line of nothing but whitespace (one that starts with a printable ASCII character is not, without decoding it). */
const isBlank = (line: Buffer) => !(line[0]! > 0x20 && line[0]! < 0x7f) && !line.toString('utf8').trim()

/**
 * Splits a byte stream into lines in linear time (each byte is scanned once) and never holds more than
 * `maxLineBytes` of one line: a longer line is dropped as it streams in and reported once it ends. Lines
 * are passed on decoded, or as `decode` makes them (the bytes themselves, for a reader that parses them).
 */
export class LineReader<Line = string> {
  private chunks: Buffer[] = []
  private size = 0
  private oversized: { bytes: number; head: Buffer; tail: Buffer } | undefined

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: Line) => void,
    private readonly onOversized: (line: OversizedLine) => void,
    private readonly decode: (line: Buffer) => Line = utf8 as (line: Buffer) => Line,
  ) {}

  push(chunk: Buffer): void {
    let start = 0
    for (;;) {
      const newline = chunk.indexOf(0x0a, start)
      this.take(chunk.subarray(start, newline === -1 ? chunk.length : newline))
      if (newline === -1) return
      this.endLine()
      start = newline + 1
    }
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return
    const over = this.oversized
    if (over) {
      over.bytes += piece.length
      over.tail = Buffer.from(Buffer.concat([over.tail, piece.subarray(-EDGE)]).subarray(-EDGE))
      return
    }
    if (this.size + piece.length <= this.maxLineBytes) {
      this.chunks.push(piece)
      this.size += piece.length
      return
    }
    const kept = Buffer.concat([...this.chunks, piece])
    this.oversized = { bytes: kept.length, head: Buffer.from(kept.subarray(0, EDGE)), tail: Buffer.from(kept.subarray(-EDGE)) }
    this.chunks = []
    this.size = 0
  }

  private endLine(): void {
    const over = this.oversized
    if (over) {
      this.oversized = undefined
      this.onOversized({ bytes: over.bytes, head: over.head.toString('utf8'), tail: over.tail.toString('utf8') })
      return
    }
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
    const line = bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, -1) : bytes
    this.chunks = []
    this.size = 0
    if (!isBlank(line)) this.onLine(this.decode(line))
  }
}

const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.){0,256}")`
const TAIL_ID = new RegExp(String.raw`"id"\s*:\s*${ID}\s*\}\s*$`)
const RESPONSE_HEAD = /^\s*\{\s*"(result|error)"\s*:/
const HEAD_ID = new RegExp(String.raw`^\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*${ID}\s*,\s*"(result|error)"`)

/**
 * The id of the JSON-RPC response an oversized line carried, when its ends show it is a response: the MCP
 * SDK writes `{"result":…,"jsonrpc":"2.0","id":N}`, other servers `{"jsonrpc":"2.0","id":N,"result":…}`.
 */
export function responseIdOf(line: OversizedLine): string | number | undefined {
  const raw = HEAD_ID.exec(line.head)?.[1] ?? (RESPONSE_HEAD.test(line.head) ? TAIL_ID.exec(line.tail)?.[1] : undefined)
  if (raw === undefined) return undefined
  try {
    return JSON.parse(raw) as string | number
  } catch {
    return undefined
  }
}
