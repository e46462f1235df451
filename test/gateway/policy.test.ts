import { describe, expect, it } from 'vitest'
import { bearerToken, compileGlob, compilePolicy, createAuthenticator, validateClients } from '../../src/gateway/security/policy.js'

const names = ['search', 'search_docs', 'search_reindex', 'searchable', 'deploy', 'db-query', 'team__search', 'a*b', 'a?b']
const matching = (pattern: string) => names.filter(compileGlob(pattern))
const allowed = (policy: Parameters<typeof compilePolicy>[0]) => names.filter(compilePolicy(policy))

describe('globs', () => {
  it('* matches any run of characters, none included', () => {
    expect(matching('search*')).toEqual(['search', 'search_docs', 'search_reindex', 'searchable'])
    expect(matching('*search')).toEqual(['search', 'team__search'])
    expect(matching('*search*')).toEqual(['search', 'search_docs', 'search_reindex', 'searchable', 'team__search'])
    expect(matching('s*h')).toEqual(['search'])
    expect(matching('*')).toEqual(names)
    expect(matching('**')).toEqual(names)
  })

  it('matches whole names only, case-sensitively, with every other character literal', () => {
    expect(matching('search')).toEqual(['search'])
    expect(matching('earch')).toEqual([])
    expect(matching('Search*')).toEqual([])
    expect(matching('a?b')).toEqual(['a?b'])
    expect(matching('a.b')).toEqual([])
    expect(matching('db-query')).toEqual(['db-query'])
    expect(matching('')).toEqual([])
    expect(matching('a*b')).toEqual(['a*b', 'a?b'])
  })
})

describe('policies', () => {
  it('no policy or no allow allows everything; an empty allow allows nothing', () => {
    expect(allowed(undefined)).toEqual(names)
    expect(allowed({})).toEqual(names)
    expect(allowed({ deny: [] })).toEqual(names)
    expect(allowed({ allow: [] })).toEqual([])
  })

  it('deny wins over allow', () => {
    expect(allowed({ allow: ['search*'], deny: ['search_reindex'] })).toEqual(['search', 'search_docs', 'searchable'])
    expect(allowed({ allow: ['search'], deny: ['search'] })).toEqual([])
    expect(allowed({ allow: ['*'], deny: ['*'] })).toEqual([])
    expect(allowed({ deny: ['search*', 'deploy'] })).toEqual(['db-query', 'team__search', 'a*b', 'a?b'])
  })

  it('applies to exposed names, so a clash-prefixed name needs its own pattern', () => {
    expect(allowed({ allow: ['search'] })).toEqual(['search'])
    expect(allowed({ allow: ['*__search'] })).toEqual(['team__search'])
  })
})

describe('clients', () => {
  it('refuses a client without a token, a shared token or name, and malformed policies', () => {
    expect(() => validateClients([{ name: 'ci', token: undefined }], undefined, undefined)).toThrow(/Client "ci" has no token.*Try this/)
    expect(() => validateClients([{ name: 'ci', token: '' }], undefined, undefined)).toThrow(/no token/)
    expect(() => validateClients([{ name: 'a', token: 't' }, { name: 'b', token: 't' }], undefined, undefined)).toThrow(/shares its token/)
    expect(() => validateClients([{ name: 'a', token: 't' }], 't', undefined)).toThrow(/shares its token/)
    expect(() => validateClients([{ name: 'a', token: 't' }, { name: 'a', token: 'u' }], undefined, undefined)).toThrow(/Two clients are named "a"/)
    expect(() => validateClients([{ name: 'a', token: 't', tools: { allow: 'search*' } }], undefined, undefined)).toThrow(
      /clients\[0\].tools.allow must be a list/,
    )
    expect(() => validateClients([{ name: 'a', token: 't', tools: { allowed: ['x'] } }], undefined, undefined)).toThrow(/unknown key "allowed"/)
    expect(() => validateClients([{ name: 'a', token: 't', discovery: 'fuzzy' }], undefined, undefined)).toThrow(/'full' or 'search'/)
    expect(() => validateClients(undefined, '', undefined)).toThrow(/authToken must be a non-empty string/)
    expect(() => validateClients([{ name: 'a', token: 't', tools: { allow: ['x'], deny: ['y'] } }], 'u', 'search')).not.toThrow()
  })

  it('maps each token to its own client, the authToken to everything, and anything else to nobody', () => {
    const authenticate = createAuthenticator({
      authToken: 'admin-token',
      clients: [
        { name: 'ci-bot', token: 'ci-token', tools: { allow: ['search*'], deny: ['search_reindex'] } },
        { name: 'ops', token: 'ops-token', discovery: 'search' },
      ],
    })!
    const ci = authenticate('Bearer ci-token')!
    expect(ci.name).toBe('ci-bot')
    expect(ci.tool('search_docs')).toBe(true)
    expect(ci.tool('search_reindex')).toBe(false)
    expect(ci.discovery).toBe('full')
    expect(authenticate('bearer   ops-token')).toMatchObject({ name: 'ops', discovery: 'search' })
    const admin = authenticate('Bearer admin-token')!
    expect(admin.name).toBeUndefined()
    expect(admin.tool('search_reindex')).toBe(true)
    for (const header of [undefined, '', 'Bearer', 'Bearer ci-token2', 'Bearer ci-toke', 'Basic ci-token', 'ci-token', 'Bearer ci-token extra']) {
      expect(authenticate(header)).toBeUndefined()
    }
    // The same object per client, so a session can be bound to the client that opened it.
    expect(authenticate('Bearer ci-token')).toBe(ci)
  })

  it('has no authenticator when there is neither a token nor a client', () => {
    expect(createAuthenticator({})).toBeUndefined()
  })

  it('reads bearer tokens', () => {
    expect(bearerToken('Bearer abc')).toBe('abc')
    expect(bearerToken('BEARER abc ')).toBe('abc')
    expect(bearerToken('Bearer')).toBeUndefined()
  })
})
