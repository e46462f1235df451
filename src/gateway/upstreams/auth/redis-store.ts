import { type ConsentSpace, opaqueName, seal, type StoredTokens, type TokenStore, unreadableError, unseal } from './token-store.js'

const PREFIX = 'airmcp:upstream-tokens:'
/** Pending authorizations (sealed, expiring) and the channel that tells every replica one ended. */
const CONSENT_PREFIX = 'airmcp:upstream-consents:'
const CONSENT_CHANNEL = 'airmcp:upstream-consents'

type RedisClient = {
  connect(): Promise<unknown>
  on(event: 'error', listener: (error: Error) => void): unknown
  get(key: string): Promise<string | null>
  set(key: string, value: string, options?: { expiration: { type: 'PX'; value: number }; condition?: 'NX' }): Promise<unknown>
  del(key: string): Promise<unknown>
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>
  publish(channel: string, message: string): Promise<unknown>
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>
  duplicate(): RedisClient
  close(): Promise<void>
}

/** Pending authorizations in Redis: every replica reads them, SET NX claims one, PUBLISH tells of its end. */
class RedisConsentSpace implements ConsentSpace {
  /** A second connection, opened on the first wait (a subscribed connection runs no other command). */
  subscriber: RedisClient | undefined

  constructor(private readonly client: RedisClient) {}

  async put(name: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(CONSENT_PREFIX + name, value, { expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) } })
  }

  async claim(name: string, ttlMs: number): Promise<boolean> {
    const set = await this.client.set(CONSENT_PREFIX + name, '1', { expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) }, condition: 'NX' })
    return set === 'OK'
  }

  async get(name: string): Promise<string | undefined> {
    return (await this.client.get(CONSENT_PREFIX + name)) ?? undefined
  }

  async publish(message: string): Promise<void> {
    await this.client.publish(CONSENT_CHANNEL, message)
  }

  async subscribe(listener: (message: string) => void): Promise<void> {
    this.subscriber = this.client.duplicate()
    this.subscriber.on('error', () => {})
    await this.subscriber.connect()
    await this.subscriber.subscribe(CONSENT_CHANNEL, listener)
  }
}

/**
 * The store gateway replicas share (`tokenStore: 'redis://…'`): each value sealed as in the file store
 * (AES-256-GCM, under an HMAC of its name, so Redis shows neither tokens nor who holds them). A replica
 * keeps what it read in memory and reads Redis again for what it does not hold, or when it must refresh.
 */
export class RedisTokenStore implements TokenStore {
  private readonly cache = new Map<string, StoredTokens>()
  private readonly consents: RedisConsentSpace

  private constructor(
    private readonly client: RedisClient,
    private readonly key: Buffer,
  ) {
    this.consents = new RedisConsentSpace(client)
  }

  /** `once`: no reconnection (a command's store), so an unreachable Redis fails the open. */
  static async open(url: string, key: Buffer, once = false): Promise<RedisTokenStore> {
    const redis = await import('@redis/client').catch(() => {
      throw new TypeError('tokenStore redis:// needs the optional package @redis/client. Try this: npm install @redis/client.')
    })
    const client: RedisClient = redis.createClient({ url, ...(once ? { socket: { reconnectStrategy: false } } : {}) })
    // Reconnects on its own; a request while it is down fails that request alone.
    client.on('error', () => {})
    await client.connect()
    return new RedisTokenStore(client, key)
  }

  private name(key: string): string {
    return `${PREFIX}${opaqueName(this.key, key)}`
  }

  async get(key: string): Promise<StoredTokens | undefined> {
    return this.cache.get(key) ?? this.fresh(key)
  }

  async fresh(key: string): Promise<StoredTokens | undefined> {
    const name = this.name(key)
    const sealed = await this.client.get(name)
    const plain = sealed === null ? undefined : unseal(this.key, sealed, name)
    if (plain === undefined) {
      this.cache.delete(key)
      return undefined
    }
    const { tokens } = JSON.parse(plain) as { tokens: StoredTokens }
    this.cache.set(key, tokens)
    return tokens
  }

  async set(key: string, tokens: StoredTokens): Promise<void> {
    const name = this.name(key)
    // One SET replaces the pair: a rotated refresh token never sits beside the old one.
    await this.client.set(name, seal(this.key, JSON.stringify({ key, tokens }), name))
    this.cache.set(key, tokens)
  }

  async delete(key: string): Promise<void> {
    this.cache.delete(key)
    await this.client.del(this.name(key))
  }

  keys(prefix = ''): string[] {
    return [...this.cache.keys()].filter((name) => name.startsWith(prefix))
  }

  async list(): Promise<[string, StoredTokens][]> {
    const found: [string, StoredTokens][] = []
    let unreadable = 0
    for await (const names of this.client.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 100 })) {
      for (const name of names) {
        const sealed = await this.client.get(name)
        const plain = sealed === null ? undefined : unseal(this.key, sealed, name)
        if (sealed !== null && plain === undefined) unreadable++
        if (plain === undefined) continue
        const { key, tokens } = JSON.parse(plain) as { key: string; tokens: StoredTokens }
        found.push([key, tokens])
      }
    }
    if (unreadable) throw unreadableError(unreadable, 'Redis', 'or delete those keys (users authorize again)')
    return found
  }

  consentSpace(): ConsentSpace {
    return this.consents
  }

  /** Waits for pending commands, then closes the connections (an open one keeps an embedding process alive). */
  async close(): Promise<void> {
    await Promise.all([this.client.close(), this.consents.subscriber?.close()])
  }
}
