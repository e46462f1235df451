import { appendFileSync, closeSync, openSync } from 'node:fs'
import type { Principal } from '../../http/principal.js'
import { log, writeLogLine } from '../../telemetry/log.js'
import type { AuditNote } from '../calls/index.js'
import { redact } from '../errors.js'

/** `audit: true` writes to the JSON log stream; `{ file }` appends to a file; `arguments: true` adds the (redacted) arguments. */
export type AuditOption = boolean | { file?: string; arguments?: boolean }

/** How an audited request ended. */
export type AuditOutcome = 'ok' | 'error' | 'denied' | 'rate_limited'

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
  private readonly file: AuditFile | undefined

  constructor(
    option: Exclude<AuditOption, false>,
    /** Values never written: the gateway's tokens. */
    private readonly secrets: string[] = [],
  ) {
    const { file, arguments: withArguments } = option === true ? {} : option
    this.withArguments = withArguments === true
    this.file = file ? new AuditFile(file) : undefined
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
    if (this.file) this.file.append(line)
    else writeLogLine(line)
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

  close(): void {
    this.file?.close()
  }
}

/** Lines wait at most this long, or until this many characters, to be written together. */
const FLUSH_MS = 50
const FLUSH_CHARACTERS = 64 * 1024

/**
 * An append-only file written in batches of whole lines: a write per line cost the gateway 3–4% of its CPU
 * per call, a write per batch nothing measurable. A line waits at most FLUSH_MS (closing the gateway writes
 * what waits); lines from several replicas sharing a file never interleave (O_APPEND, whole lines per
 * write). A failing disk costs the audit its lines (logged once per failing stretch), never the gateway
 * its process.
 */
class AuditFile {
  private readonly fd: number
  private failing = false
  private waiting = ''
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly path: string) {
    try {
      this.fd = openSync(path, 'a', 0o600)
    } catch (error) {
      // Opened now, so a path that cannot be written fails `new Gateway`, not its first call.
      throw new Error(
        `Cannot open the audit file "${path}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Try this: create its directory and make it writable, or audit: true for the log stream.`,
      )
    }
  }

  append(line: string): void {
    this.waiting += `${line}\n`
    if (this.waiting.length >= FLUSH_CHARACTERS) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref()
  }

  private flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (!this.waiting) return
    const lines = this.waiting
    this.waiting = ''
    try {
      appendFileSync(this.fd, lines)
      this.failing = false
    } catch (error) {
      if (!this.failing) log('error', `Audit file "${this.path}" failed`, { component: 'gateway', error: (error as Error).message })
      this.failing = true
    }
  }

  close(): void {
    this.flush()
    closeSync(this.fd)
  }
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
