// Client policies matched by claims and scopes, and the `auth` options refused before anything listens.
import { describe, expect, it } from 'vitest'
import { gatewayEnvironment } from '../../src/config/environment.js'
import { Gateway } from '../../src/gateway/gateway.js'
import { principalMatches, validateClients } from '../../src/gateway/security/policy.js'
import { principalOf, validateAuthOptions } from '../../src/http/oauth-resource.js'

const alice = principalOf({ sub: 'alice', azp: 'mcp-app', scope: 'mcp:tools mcp:support', groups: ['support', 'emea'], tenant: 't1' })

describe('principals from claims', () => {
  it('reads sub, the client id (client_id, else azp) and scopes (scope or scp)', () => {
    expect(alice).toMatchObject({ name: 'alice', sub: 'alice', clientId: 'mcp-app', scopes: ['mcp:tools', 'mcp:support'] })
    expect(principalOf({ sub: 'svc', client_id: 'machine', azp: 'other', scp: ['a', 'b'] })).toMatchObject({ clientId: 'machine', scopes: ['a', 'b'] })
  })

  it('matches every listed claim (a list claim by containment, a list of values by any) and scope', () => {
    expect(principalMatches({ claims: { groups: 'support' } }, alice)).toBe(true)
    expect(principalMatches({ claims: { groups: ['finance', 'emea'] } }, alice)).toBe(true)
    expect(principalMatches({ claims: { groups: 'support', tenant: 't2' } }, alice)).toBe(false)
    expect(principalMatches({ scopes: ['mcp:support'] }, alice)).toBe(true)
    expect(principalMatches({ scopes: ['mcp:support', 'mcp:admin'] }, alice)).toBe(false)
    expect(principalMatches({}, alice)).toBe(true)
  })
})

describe('refused configuration', () => {
  it.each([
    [{ claims: 'support' }, /match.claims must map/],
    [{ claims: { groups: 3 } }, /groups must be a string or a list/],
    [{ scopes: 'mcp:tools' }, /scopes must be a list/],
    [{ group: 'x' }, /unknown key "group"/],
  ])('a malformed match %j', (match, message) => {
    expect(() => validateClients([{ name: 'support', match }], undefined, undefined)).toThrow(message)
  })

  it('a client with match on a gateway without auth', () => {
    expect(() => new Gateway({ name: 'g', clients: [{ name: 'support', match: { scopes: ['x'] } }] })).toThrow(/no auth/)
  })

  it.each([
    [{ audience: 'api://x' }, /issuer is missing/],
    [{ issuer: 'https://login.example.com/' }, /audience is missing/],
    [{ issuer: 'http://login.example.com/', audience: 'api://x' }, /must use https/],
    [{ issuer: 'https://login.example.com/', audience: 'api://x', algorithms: ['RS256', 'HS256'] }, /may not include HS256/],
    [{ issuer: 'https://login.example.com/', audience: 'api://x', algorithms: ['none'] }, /may not include none/],
  ])('auth %j', (auth, message) => {
    expect(() => validateAuthOptions(auth)).toThrow(message)
  })

  it('accepts plain http only on loopback', () => {
    expect(() => validateAuthOptions({ issuer: 'http://127.0.0.1:8080', audience: 'api://x' })).not.toThrow()
    expect(() => validateAuthOptions({ issuer: 'http://localhost:8080', audience: 'api://x' })).not.toThrow()
  })
})

describe('auth from the environment (a deployment Secret)', () => {
  it('reads AIRMCP_GATEWAY_OAUTH_* when the code sets no auth; issuer and audience go together', () => {
    expect(gatewayEnvironment({}).auth).toBeUndefined()
    expect(
      gatewayEnvironment({
        AIRMCP_GATEWAY_OAUTH_ISSUER: 'https://login.example.com/',
        AIRMCP_GATEWAY_OAUTH_AUDIENCE: 'api://gw',
        AIRMCP_GATEWAY_OAUTH_RESOURCE: 'https://mcp.example.com/mcp',
        AIRMCP_GATEWAY_OAUTH_SCOPES: 'mcp:tools  mcp:admin',
      }).auth,
    ).toEqual({ issuer: 'https://login.example.com/', audience: 'api://gw', resource: 'https://mcp.example.com/mcp', scopesSupported: ['mcp:tools', 'mcp:admin'] })
    expect(() => gatewayEnvironment({ AIRMCP_GATEWAY_OAUTH_ISSUER: 'https://login.example.com/' }).auth).toThrow(/go together/)
  })
})
