import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/** What the gateway holds for one principal at one upstream: never logged, encrypted at rest. */
export interface StoredTokens {
  accessToken: string
  refreshToken?: string
  /** Epoch ms; undefined when the server said nothing. */
  expiresAt?: number
  scope?: string
}

/** Tokens by key (principal and upstream): reads come from memory where they can, every change is written through. */
export interface TokenStore {
  get(key: string): Promise<StoredTokens | undefined>
  /** The value as stored now, past any cache (another replica may have rotated it). */
  fresh(key: string): Promise<StoredTokens | undefined>
  set(key: string, tokens: StoredTokens): Promise<void>
  delete(key: string): Promise<void>
  /** Keys starting with `prefix` (a principal's), for `list` and `revoke`. */
  keys(prefix?: string): string[]
  /** Everything stored now, every replica's (`airmcp auth list`); throws when a value cannot be read with this key. */
  list(): Promise<[string, StoredTokens][]>
  /** Releases what the store holds open (a Redis connection); the file store holds nothing. */
  close?(): Promise<void>
  /** Where the replicas sharing this store keep pending authorizations (Redis); none: the process's memory. */
  consentSpace?(): ConsentSpace
}

/**
 * Where pending authorizations live: one process's memory (the file store), or Redis that every replica
 * reaches. Values are opaque to it (sealed); `claim` is the one atomic step (first caller wins).
 */
export interface ConsentSpace {
  put(name: string, value: string, ttlMs: number): Promise<void>
  /** Sets `name` unless it exists: true for the first caller only. */
  claim(name: string, ttlMs: number): Promise<boolean>
  get(name: string): Promise<string | undefined>
  /** To every replica's subscribers (this one's too). */
  publish(message: string): Promise<void>
  /** Resolves once subscribed: a message published after that reaches `listener`. */
  subscribe(listener: (message: string) => void): Promise<void>
}

const KEY_ENV = 'AIRMCP_TOKEN_STORE_KEY'
const MIN_SECRET = 32

/**
 * The AES-256-GCM key of the store, derived (HKDF-SHA256) from a secret of at least 32 characters: the
 * option, else `AIRMCP_TOKEN_STORE_KEY` (a Kubernetes Secret, say). Without one the store cannot be opened.
 */
export function storeKey(secret: string | undefined): Buffer {
  if (!secret || secret.length < MIN_SECRET) {
    throw new TypeError(
      `Upstream tokens are stored encrypted and need a key of at least ${MIN_SECRET} characters. Try this: set ${KEY_ENV} (e.g. openssl rand -base64 48), or tokenStoreKey.`,
    )
  }
  return Buffer.from(hkdfSync('sha256', secret, 'airmcp-token-store', 'aes-256-gcm', 32))
}

/** `v1.<iv>.<tag>.<ciphertext>` in base64url; `aad` binds a value to its key so values cannot be swapped. */
export function seal(key: Buffer, plain: string, aad: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad))
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return ['v1', iv, cipher.getAuthTag(), data].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.')
}

/** The plain text, or undefined for a value sealed with another key (or tampered with). */
export function unseal(key: Buffer, sealed: string, aad: string): string | undefined {
  const [version, iv, tag, data] = sealed.split('.')
  if (version !== 'v1' || !data) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(aad))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}

/** A stored name (who, at which upstream) as the file shows it: an HMAC, so the file names nobody. */
export function opaqueName(key: Buffer, name: string): string {
  return createHmac('sha256', key).update(name).digest('base64url')
}

/** Values sealed with another key: the store refuses to go on (a wrong key must not look like an empty store). */
export function unreadableError(count: number, where: string, otherwise: string): Error {
  return new Error(`${count} stored upstream token(s) in ${where} cannot be read with this key. Try this: the key the gateway used before (AIRMCP_TOKEN_STORE_KEY), ${otherwise}.`)
}

/**
 * The one-process store: a JSON file of sealed values in the gateway's data directory, read once at start
 * and rewritten atomically (a temporary file renamed over it) after each change, changes in order.
 */
export class FileTokenStore implements TokenStore {
  private readonly entries = new Map<string, StoredTokens>()
  private writing: Promise<void> = Promise.resolve()

  private constructor(
    private readonly path: string,
    private readonly key: Buffer,
  ) {}

  static async open(path: string, key: Buffer): Promise<FileTokenStore> {
    const store = new FileTokenStore(path, key)
    let text: string | undefined
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    const sealed = text ? (JSON.parse(text) as Record<string, string>) : {}
    let unreadable = 0
    for (const [name, value] of Object.entries(sealed)) {
      const plain = unseal(key, value, name)
      if (plain === undefined) unreadable++
      else {
        const entry = JSON.parse(plain) as { key: string; tokens: StoredTokens }
        store.entries.set(entry.key, entry.tokens)
      }
    }
    if (unreadable) throw unreadableError(unreadable, path, 'or delete the file (users authorize again)')
    return store
  }

  async list(): Promise<[string, StoredTokens][]> {
    return [...this.entries]
  }

  async get(key: string): Promise<StoredTokens | undefined> {
    return this.entries.get(key)
  }

  fresh(key: string): Promise<StoredTokens | undefined> {
    return this.get(key)
  }

  keys(prefix = ''): string[] {
    return [...this.entries.keys()].filter((name) => name.startsWith(prefix))
  }

  set(key: string, tokens: StoredTokens): Promise<void> {
    this.entries.set(key, tokens)
    return this.persist()
  }

  delete(key: string): Promise<void> {
    if (!this.entries.delete(key)) return Promise.resolve()
    return this.persist()
  }

  private persist(): Promise<void> {
    // Each write takes the whole map as it is when its turn comes: the last write holds every change.
    this.writing = this.writing.then(async () => {
      const sealed: Record<string, string> = {}
      for (const [name, tokens] of this.entries) {
        const id = opaqueName(this.key, name)
        sealed[id] = seal(this.key, JSON.stringify({ key: name, tokens }), id)
      }
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
      const temporary = `${this.path}.${process.pid}.tmp`
      await writeFile(temporary, JSON.stringify(sealed), { mode: 0o600 })
      await rename(temporary, this.path)
    })
    return this.writing
  }
}
