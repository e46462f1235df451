import { trace } from '@opentelemetry/api'
import { logFormat, logLevel } from '../config/environment.js'

/** Severity of one line, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Structured fields of a line; `server`, `tool`, `duration_ms` and `trace_id` are the usual ones. */
export type LogFields = Record<string, unknown>

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** Where lines go: stderr, because stdout carries JSON-RPC for stdio servers and the stdio gateway. */
let sink: (line: string) => void = (line) => process.stderr.write(`${line}\n`)

/** Replaces where lines go (tests); returns the previous sink. */
export function setLogSink(write: (line: string) => void): (line: string) => void {
  const previous = sink
  sink = write
  return previous
}

function threshold(): number {
  const level = logLevel() as LogLevel | undefined
  return level && level in ORDER ? ORDER[level] : ORDER.info
}

/** Writes a line that is JSON already (an audit line) to the log stream, whatever the format and level. */
export function writeLogLine(line: string): void {
  sink(line)
}

/** True when a line of this level would be written; lets hot paths skip building fields. */
export function logEnabled(level: LogLevel): boolean {
  return ORDER[level] >= threshold()
}

/** The id of the trace the current code runs in, when tracing is on and the span is sampled. */
function activeTraceId(): string | undefined {
  const context = trace.getActiveSpan()?.spanContext()
  return context && context.traceFlags & 1 ? context.traceId : undefined
}

/**
 * Writes one line of the gateway's or a server's own log on stderr. Text by default (the message as it
 * always was, so `… listening on <url>` stays greppable); with `AIRMCP_LOG_FORMAT=json` one JSON object
 * per line: `time`, `level`, `msg`, the fields, and `trace_id` when a sampled span is active.
 */
export function log(level: LogLevel, msg: string, fields: LogFields = {}): void {
  if (!logEnabled(level)) return
  if (logFormat() === 'text') {
    // Text lines read as before: the message says it all; only an error's message is added.
    sink(typeof fields.error === 'string' ? `${msg}: ${fields.error}` : msg)
    return
  }
  const traceId = fields.trace_id ?? activeTraceId()
  const line: LogFields = { time: new Date().toISOString(), level, msg }
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) line[key] = value
  if (traceId) line.trace_id = traceId
  sink(JSON.stringify(line))
}

/** A logger whose lines all carry the same fields (e.g. `{ server: 'search' }`). */
export function createLogger(base: LogFields) {
  return {
    debug: (msg: string, fields?: LogFields) => log('debug', msg, { ...base, ...fields }),
    info: (msg: string, fields?: LogFields) => log('info', msg, { ...base, ...fields }),
    warn: (msg: string, fields?: LogFields) => log('warn', msg, { ...base, ...fields }),
    error: (msg: string, fields?: LogFields) => log('error', msg, { ...base, ...fields }),
  }
}

export type Logger = ReturnType<typeof createLogger>

/**
 * Passes on a stderr line of a child process (a stdio upstream) under its label: `[label] line` as text;
 * in JSON format the child's own JSON line gains `upstream`, and a plain line becomes `{ msg, upstream }`.
 */
export function forwardChildLine(label: string, line: string): void {
  if (logFormat() === 'text') {
    sink(`[${label}] ${line}`)
    return
  }
  let parsed: unknown
  try {
    parsed = line.startsWith('{') ? JSON.parse(line) : undefined
  } catch {
    parsed = undefined
  }
  const fields = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as LogFields) : undefined
  sink(JSON.stringify(fields ? { ...fields, upstream: label } : { time: new Date().toISOString(), level: 'info', msg: line, upstream: label }))
}
