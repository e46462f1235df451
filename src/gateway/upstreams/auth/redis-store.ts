import { opaqueName, seal, type StoredTokens, type TokenStore, unseal } from './token-store.js'

const PREFIX = 'airmcp:upstream-tokens:'

type RedisClient = {
  connect(): Promise<unknown>
  on(event: 'error', listener: (error: Error) => void): unknown
  get(key: string): Promise<string | null>
  set(key: string, value: string): Promise<unknown>
  del(key: string): Promise<unknown>
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>
  close(): Promise<void>
}

/**
 * The store gateway replicas share (`tokenStore: 'redis://…'`): each value sealed as in the file store
 * (AES-256-GCM, under an HMAC of its name, so Redis shows neither tokens nor who holds them). A replica
 * keeps what it read in memory and reads Redis again for what it does not hold, or when it must refresh.
 */
export class RedisTokenStore implements TokenStore {
  private readonly cache = new Map<string, StoredTokens>()

  private constructor(
    private readonly client: RedisClient,
    private readonly key: Buffer,
  ) {}

  static async open(url: string, key: Buffer): Promise<RedisTokenStore> {
    const redis = await import('@redis/client').catch(() => {
      throw new TypeError('tokenStore redis:// needs the optional package @redis/client. Try this: npm install @redis/client.')
    })
    const client: RedisClient = redis.createClient({ url })
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

  /** Waits for pending commands, then closes the connection (an open one keeps an embedding process alive). */
  close(): Promise<void> {
    return this.client.close()
  }
}
