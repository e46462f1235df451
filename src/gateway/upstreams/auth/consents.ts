import { type ConsentSpace, opaqueName, seal, unseal } from './token-store.js'

/** What the callback needs to finish one authorization (never logged; sealed where it is kept). */
export interface PendingAuthorization {
  /** The principal's key at the upstream, in the token store. */
  key: string
  /** The upstream (its OAuth client at the gateway). */
  resource: string
  verifier: string
  scope?: string
  /** Epoch ms after which the callback is refused. */
  expiresAt: number
}

/** How an authorization ended: tokens stored, or why not. */
export type ConsentOutcome = { ok: true } | { ok: false; error: string }

/**
 * Authorizations waiting for their callback, shared by the replicas of a gateway: the replica that asked
 * the user keeps the PKCE verifier here (sealed with the store key), the one the browser comes back to
 * claims it once (a replayed callback finds it claimed), and the outcome reaches whichever replica waits.
 */
export class ConsentBoard {
  private readonly waiting = new Map<string, Set<(outcome: ConsentOutcome) => void>>()
  private subscribed: Promise<void> | undefined

  constructor(
    private readonly space: ConsentSpace,
    private readonly key: Buffer,
  ) {}

  private name(kind: 'pending' | 'claimed' | 'ended', state: string): string {
    return `${kind}:${opaqueName(this.key, `consent ${state}`)}`
  }

  private sealed(name: string, value: unknown): string {
    return seal(this.key, JSON.stringify(value), name)
  }

  private async read<T>(name: string): Promise<T | undefined> {
    const value = await this.space.get(name)
    const plain = value === undefined ? undefined : unseal(this.key, value, name)
    return plain === undefined ? undefined : (JSON.parse(plain) as T)
  }

  /** Keeps `pending` under `state` until it expires. */
  open(state: string, pending: PendingAuthorization): Promise<void> {
    const name = this.name('pending', state)
    return this.space.put(name, this.sealed(name, pending), pending.expiresAt - Date.now())
  }

  /** The pending authorization of `state` for its one callback; undefined when unknown, expired or already claimed. */
  async take(state: string): Promise<PendingAuthorization | undefined> {
    const pending = await this.read<PendingAuthorization>(this.name('pending', state))
    if (!pending || pending.expiresAt <= Date.now()) return undefined
    return (await this.space.claim(this.name('claimed', state), pending.expiresAt - Date.now())) ? pending : undefined
  }

  /** Records how `state` ended and tells every replica (a call may be waiting on another one). */
  async end(state: string, outcome: ConsentOutcome, ttlMs: number): Promise<void> {
    const name = this.name('ended', state)
    const value = this.sealed(name, outcome)
    await this.space.put(name, value, ttlMs)
    await this.space.publish(`${name} ${value}`)
  }

  /**
   * How `state` ends, wherever its callback lands: at once when it has ended, else when it ends or expires;
   * undefined for a state this gateway never issued (or long gone).
   */
  async outcome(state: string): Promise<ConsentOutcome | undefined> {
    // Subscribed once; a failed subscription (Redis down) is tried again by the next wait.
    this.subscribed ??= this.space.subscribe((message) => this.announced(message)).catch((error: unknown) => {
      this.subscribed = undefined
      throw error
    })
    await this.subscribed
    const name = this.name('ended', state)
    // Listening before looking: an end between the two is not missed.
    let listener!: (outcome: ConsentOutcome) => void
    const ended = new Promise<ConsentOutcome>((resolve) => (listener = resolve))
    const listeners = this.waiting.get(name) ?? new Set()
    this.waiting.set(name, listeners.add(listener))
    let timer: NodeJS.Timeout | undefined
    try {
      const known = await this.read<ConsentOutcome>(name)
      if (known) return known
      const pending = await this.read<PendingAuthorization>(this.name('pending', state))
      if (!pending) return undefined
      const expired = new Promise<ConsentOutcome>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, error: 'The authorization was not completed in time. Try this: call again for a new link.' }), pending.expiresAt - Date.now())
        timer.unref()
      })
      return await Promise.race([ended, expired])
    } finally {
      clearTimeout(timer)
      listeners.delete(listener)
      if (!listeners.size) this.waiting.delete(name)
    }
  }

  private announced(message: string): void {
    const [name, value] = message.split(' ')
    const listeners = this.waiting.get(name)
    const plain = listeners && unseal(this.key, value ?? '', name)
    if (plain === undefined) return
    const outcome = JSON.parse(plain) as ConsentOutcome
    for (const listener of listeners!) listener(outcome)
  }
}

/** The one-process space (the file store's): expiring entries in memory, bounded; messages stay in the process. */
export class MemoryConsentSpace implements ConsentSpace {
  private static readonly MAX_ENTRIES = 10_000
  private readonly entries = new Map<string, { value: string; expiresAt: number }>()
  private readonly listeners: ((message: string) => void)[] = []

  async put(name: string, value: string, ttlMs: number): Promise<void> {
    this.sweep()
    this.entries.delete(name)
    this.entries.set(name, { value, expiresAt: Date.now() + ttlMs })
  }

  async claim(name: string, ttlMs: number): Promise<boolean> {
    if ((await this.get(name)) !== undefined) return false
    await this.put(name, '', ttlMs)
    return true
  }

  async get(name: string): Promise<string | undefined> {
    const entry = this.entries.get(name)
    return entry && entry.expiresAt > Date.now() ? entry.value : undefined
  }

  async publish(message: string): Promise<void> {
    for (const listener of this.listeners) listener(message)
  }

  async subscribe(listener: (message: string) => void): Promise<void> {
    this.listeners.push(listener)
  }

  /** Expired entries go (oldest first, in insertion order), and the oldest past the bound. */
  private sweep(): void {
    for (const [name, entry] of this.entries) {
      if (entry.expiresAt > Date.now() && this.entries.size < MemoryConsentSpace.MAX_ENTRIES) break
      this.entries.delete(name)
    }
  }
}
