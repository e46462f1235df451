import { createWriteStream, openSync, type WriteStream } from 'node:fs'
import type { Principal } from '../http/principal.js'
import { log, writeLogLine } from '../telemetry/log.js'
import { redact } from './errors.js'

/** `audit: true` writes to the JSON log stream; `{ file }` appends to a file; `arguments: true` adds the (redacted) arguments. */
export type AuditOption = boolean | { file?: string; arguments?: boolean }

/** How an audited request ended. */
export type AuditOutcome = 'ok' | 'error' | 'denied' | 'rate_limited'

/** What the router learned while serving a request, for its audit line (set only when auditing). */
export interface AuditNote {
  /** The pool (the registration's `name`). */
  server?: string
  /** The member that served it (the registration's `id`). */
  upstream?: string
  /** The tool's or prompt's name on the upstream, when the gateway exposes it under another one. */
  upstreamName?: string
  /** The trace of the gateway's span (tracing on). */
  traceId?: string
}

/** One audited request. */
export interface AuditEntry {
  principal: Principal
  method: string
  name: string
  outcome: AuditOutcome
  durationMs: number
  note?: AuditNote
  requestId?: string | number
  sessionId?: string
  traceId?: string
  /** `tool_error`, `timeout`, `cancelled` or `protocol_error` when the outcome is `error`. */
  error?: string
  errorCode?: number
  arguments?: unknown
}

/** Bytes of audit lines a file may have queued before lines are dropped (and counted) rather than held. */
export const MAX_AUDIT_BACKLOG = 4 * 1024 * 1024

/** Argument keys whose values are never written, whatever they hold. */
const SECRET_KEY = /pass(word|phrase)?|secret|token|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key/i
const MAX_ARGUMENT_DEPTH = 32

export function checkAuditOption(option: unknown): void {
  if (option === undefined || typeof option === 'boolean') return
  const { file, arguments: args, ...rest } = (option ?? {}) as { file?: unknown; arguments?: unknown }
  const bad =
    typeof option !== 'object' ||
    option === null ||
    Object.keys(rest).length > 0 ||
    (file !== undefined && (typeof file !== 'string' || file === '')) ||
    (args !== undefined && typeof args !== 'boolean')
  if (bad) {
    throw new TypeError('audit must be true, false or { file?: string, arguments?: boolean }. Try this: audit: { file: "/var/log/airmcp/audit.jsonl" }.')
  }
}

/**
 * The audit log: one JSON line per request that reached an upstream or was refused (policy, rate limit),
 * built with one `JSON.stringify`. Arguments only when asked, with secret-looking keys masked and URLs and
 * known secrets (client tokens) redacted from their strings.
 */
export class AuditLog {
  readonly withArguments: boolean
  private readonly file: WriteStream | undefined
  private dropped = 0

  constructor(
    option: Exclude<AuditOption, false>,
    /** Values never written: the gateway's tokens. */
    private readonly secrets: string[] = [],
  ) {
    const { file, arguments: withArguments } = option === true ? {} : option
    this.withArguments = withArguments === true
    this.file = file ? openAppending(file) : undefined
  }

  record(entry: AuditEntry): void {
    const { principal, note } = entry
    const line = JSON.stringify({
      time: new Date().toISOString(),
      level: 'info',
      msg: 'audit',
      principal: principal.name,
      sub: principal.sub,
      client_id: principal.clientId,
      method: entry.method,
      name: entry.name,
      server: note?.server,
      upstream: note?.upstream,
      upstream_name: note?.upstreamName,
      outcome: entry.outcome,
      error: entry.error,
      error_code: entry.errorCode,
      duration_ms: Math.round(entry.durationMs * 10) / 10,
      request_id: entry.requestId,
      session_id: entry.sessionId,
      trace_id: note?.traceId ?? entry.traceId,
      arguments: this.withArguments ? this.redactValue(entry.arguments, 0) : undefined,
    })
    if (this.file) this.append(line)
    else writeLogLine(line)
  }

  /** Appends a line unless the file is that far behind: then the line is dropped and counted, memory stays bounded. */
  private append(line: string): void {
    const file = this.file!
    if (file.writableLength > MAX_AUDIT_BACKLOG) {
      if (this.dropped++ === 0) file.once('drain', () => this.reportDropped())
      return
    }
    file.write(`${line}\n`)
  }

  private reportDropped(): void {
    log('warn', `Audit file fell behind: ${this.dropped} lines dropped`, { component: 'gateway', dropped: this.dropped })
    this.dropped = 0
  }

  private redactValue(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return redact(value, this.secrets)
    if (value === null || typeof value !== 'object') return value
    if (depth >= MAX_ARGUMENT_DEPTH) return '[too deep]'
    if (Array.isArray(value)) return value.map((item) => this.redactValue(item, depth + 1))
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? '***' : this.redactValue(item, depth + 1)
    return out
  }

  /** Writes what is queued and closes the file. */
  close(): Promise<void> {
    const file = this.file
    return file ? new Promise((resolve) => file.end(resolve)) : Promise.resolve()
  }
}

/** Opens the audit file now, so a path that cannot be written fails `new Gateway`, not its first call. */
function openAppending(path: string): WriteStream {
  let fd: number
  try {
    fd = openSync(path, 'a', 0o600)
  } catch (error) {
    throw new Error(
      `Cannot open the audit file "${path}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Try this: create its directory and make it writable, or audit: true for the log stream.`,
    )
  }
  const stream = createWriteStream(path, { fd, flags: 'a' })
  // A failing disk costs the audit its lines, never the gateway its process.
  stream.on('error', (error) => log('error', `Audit file "${path}" failed`, { component: 'gateway', error: error.message }))
  return stream
}

/** Notes the pool (and the name there) an audited request is routed to; nothing when it is not audited. */
export function noteRoute(caller: { audit?: AuditNote }, server: string, upstreamName?: string): void {
  if (!caller.audit) return
  caller.audit.server = server
  caller.audit.upstreamName = upstreamName
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}/

/** The trace id of the first `traceparent` among the carriers (the request's `_meta`, then its headers). */
export function traceIdOf(...carriers: (Record<string, unknown> | undefined)[]): string | undefined {
  for (const carrier of carriers) {
    const parent = carrier?.traceparent
    if (typeof parent === 'string') return TRACEPARENT.exec(parent)?.[1]
  }
  return undefined
}
