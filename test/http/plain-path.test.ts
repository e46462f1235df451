import { describe, expect, it } from 'vitest'
import { isPlainPath } from '../../src/http/host.js'

// The host reads a plain request target as its pathname without building a URL: it must never disagree
// with URL, or a request would be routed by a path the URL parser would not give it.
const pathnameOf = (target: string) => new URL(target, 'http://localhost').pathname

describe('a request target read as its own pathname', () => {
  it('is plain only when URL would give back the very same pathname, for every short target over a tricky alphabet', () => {
    const alphabet = ['/', '.', 'a', '%', '2e', '?', '#', ' ', '\\', ':', '@', '~', "'", '|', '{', 'é', '\t']
    let plain = 0
    const visit = (target: string, depth: number) => {
      if (isPlainPath(target)) {
        plain++
        expect(pathnameOf(target), target).toBe(target)
      }
      if (depth > 0) for (const piece of alphabet) visit(target + piece, depth - 1)
    }
    visit('/', 4)
    expect(plain).toBeGreaterThan(100)
  })

  it('covers the usual endpoints and leaves the rest to URL', () => {
    for (const target of ['/mcp', '/mcp/', '/sse', '/messages', '/health', '/metrics', '/.well-known/oauth-protected-resource/mcp', '/a/.../b']) {
      expect(isPlainPath(target), target).toBe(true)
    }
    for (const target of ['/mcp?x=1', '//evil/mcp', '/./mcp', '/a/..', '/%2e%2e/mcp', '/m c p', '/m\\cp', '/mcp#x', 'mcp', '*']) {
      expect(isPlainPath(target), target).toBe(false)
    }
  })
})
