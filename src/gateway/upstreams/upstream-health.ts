// An upstream member's status: health pings, a broken connection taken out of its pool, and the reconnect backoff (a crash loop keeps it growing).
import { type DiscoverResult, type McpSubscription, SdkError, SdkErrorCode } from '@modelcontextprotocol/client'
import { REQUEST_TIMEOUT } from '../../protocol/codes.js'
import { CallStats } from './call-stats.js'
import { classifyFailure, messageOf, upstreamErrorText } from '../errors.js'
import type { ListLimits } from './list-intake.js'
import type { UpstreamStatus } from '../types.js'
import { UpstreamLists } from './upstream-lists.js'
import type { UpstreamAuthority } from './auth/index.js'

export interface UpstreamTiming {
  connectTimeout: number
  reconnectDelay: number
  unhealthyThreshold: number
  /** Requests sent to this member at once; more wait in a queue (default 64). */
  maxConcurrent?: number
  /** Largest result or stdio line accepted from this member (default 8 MiB). */
  maxResultBytes?: number
  /** `on-demand`: a lost connection is opened again by the next request only (within its backoff), never in the background. */
  reconnect?: 'background' | 'on-demand'
  /** How much of each list is taken from this member (default LIMIT_DEFAULTS). */
  lists?: ListLimits
  /** Protected upstreams (`connection.auth`): wraps their HTTP transport to carry tokens. */
  upstreamAuth?: UpstreamAuthority
}

/** The protocol era an upstream was found to speak: 2026-07-28 per request, or 2025-11-25 sessions. */
export type UpstreamEra = 'modern' | 'legacy'

const MAX_RECONNECT_DELAY = 30_000
/** How long a connection must stay up before its loss starts the reconnect backoff over. */
export const STABLE_CONNECTION_MS = 30_000
/** Connections in a row lost before STABLE_CONNECTION_MS that make a member a crash loop. */
const CRASH_LOOP = 3

/** Errors that say the connection failed (worth another replica), as opposed to the server's own answer. */
export function isConnectionError(error: unknown): boolean {
  return classifyFailure(error) === 'transport'
}

/** True for a timeout: the SDK client's own, or a REQUEST_TIMEOUT error (the router's deadline for a queued call). */
export function isTimeoutError(error: unknown): boolean {
  return (
    (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) ||
    (error instanceof Error && (error as { code?: unknown }).code === REQUEST_TIMEOUT)
  )
}

/** The status of one member and when it reconnects (a base of Upstream, upstream.ts). */
export abstract class UpstreamHealth extends UpstreamLists {
  status: UpstreamStatus = 'connecting'
  /** Calls in flight, for least-connections. */
  inflight = 0
  /** Calls, errors and median latency since start (`/health`, `airmcp status`). */
  readonly stats = new CallStats()
  /** The probe's verdict for the current connection; cleared when the connection is lost. */
  era: UpstreamEra | undefined
  discover: DiscoverResult | undefined
  protected failures = 0
  protected attempts = 0
  protected reconnectTimer: NodeJS.Timeout | undefined
  /** When the current connection came up (0: none is up). */
  protected connectedAt = 0
  /** Connections in a row lost before STABLE_CONNECTION_MS. */
  private shortLived = 0
  /** A member in a crash loop is not reconnected on demand before this time (its backoff). */
  protected notBefore = 0
  protected stopped = false
  protected subscription: McpSubscription | undefined
  protected abstract override readonly timing: UpstreamTiming
  abstract connect(): Promise<void>
  protected abstract closeSessionClient(): void
  /** Tells the gateway the member's status changed (UpstreamEvents.statusChanged). */
  protected abstract announceStatus(): void

  /** A health ping; enough failures in a row take the server out of its pool until it reconnects. */
  async checkHealth(timeout: number): Promise<void> {
    const client = this.client
    if (!client || this.status !== 'connected') return
    try {
      // 2026-07-28 has no ping: a modern server is asked `server/discover`, which also refreshes its advertisement.
      if (this.era === 'modern') this.discover = await client.discover({ timeout })
      else await client.ping({ timeout })
      this.failures = 0
    } catch (error) {
      if (++this.failures >= this.timing.unhealthyThreshold) {
        this.client = undefined
        void client.close().catch(() => {})
        this.fail(`health check failed: ${messageOf(error)}`)
      }
    }
  }

  /** Marks the server down after a failed call on the connection; it reconnects in the background. */
  markBroken(error: unknown): void {
    if (this.status !== 'connected') return
    const client = this.client
    this.client = undefined
    void client?.close().catch(() => {})
    this.fail(`call failed: ${messageOf(error)}`)
  }

  protected fail(reason: string): void {
    this.closeSessionClient()
    this.lastError = upstreamErrorText(reason, this.secrets)
    // The verdict belongs to the lost connection: the next connect probes again.
    this.era = undefined
    this.discover = undefined
    this.subscription = undefined
    this.setStatus('error')
    if (this.stopped) return
    // A connection that stayed up a while starts the backoff over; one lost soon after it came up (a crash
    // loop) keeps it growing, and calls that find the member down do not reconnect it sooner either.
    if (this.connectedAt) {
      const stable = Date.now() - this.connectedAt >= STABLE_CONNECTION_MS
      this.shortLived = stable ? 0 : this.shortLived + 1
      if (stable) this.attempts = 0
      this.connectedAt = 0
    }
    const delay = Math.min(this.timing.reconnectDelay * 2 ** this.attempts++, MAX_RECONNECT_DELAY)
    this.notBefore = this.shortLived >= CRASH_LOOP ? Date.now() + delay : 0
    clearTimeout(this.reconnectTimer)
    if (this.timing.reconnect === 'on-demand') return
    this.reconnectTimer = setTimeout(() => void this.connect(), delay)
    this.reconnectTimer.unref()
  }

  protected setStatus(status: UpstreamStatus): void {
    if (this.status === status) return
    this.status = status
    this.announceStatus()
  }
}
