import { describe, expect, it } from 'vitest'
import { defineResource, matchTemplate } from '../../dist/runtime/index.js'

describe('matchTemplate', () => {
  const cases: [string, string, Record<string, string> | null][] = [
    ['users://{id}/profile', 'users://42/profile', { id: '42' }],
    ['users://{id}/profile', 'users://4/2/profile', null],
    ['users://{id}/profile', 'other://42/profile', null],
    // A trailing simple variable takes the rest, slashes included (the seed's files server).
    ['file:///{path}', 'file:///docs/readme.md', { path: 'docs/readme.md' }],
    ['file:///{path}', 'file:///readme.md', { path: 'readme.md' }],
    ['file:///{+path}', 'file:///a/b/c', { path: 'a/b/c' }],
    ['repo://{owner}/{name}', 'repo://me/my%20repo', { owner: 'me', name: 'my repo' }],
    ['search://x{?q,limit}', 'search://x?q=hi&limit=3', { q: 'hi', limit: '3' }],
    ['doc://{name}{.ext}', 'doc://report.pdf', { name: 'report', ext: 'pdf' }],
    ['fixed://resource', 'fixed://resource', {}],
    ['fixed://resource', 'fixed://resource/more', null],
  ]
  for (const [template, uri, expected] of cases) {
    it(`${template} against ${uri}`, () => {
      expect(matchTemplate(template, uri)).toEqual(expected)
    })
  }

  it('keeps a malformed percent-escape as it was, and matches nothing for an unclosed template', () => {
    expect(matchTemplate('s://{a}', 's://%E0%A4%A')).toEqual({ a: '%E0%A4%A' })
    expect(matchTemplate('s://{a', 's://x')).toBeNull()
  })

  it('tells templates from fixed URIs', () => {
    const handler = () => ''
    expect(defineResource('file:///{path}', { name: 'f', handler }).isTemplate).toBe(true)
    expect(defineResource('config://app', { name: 'c', handler }).isTemplate).toBe(false)
  })
})
