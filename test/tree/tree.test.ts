import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { backupPath, flushTree } from '../../dist/tree/flush.js'
import { unifiedDiff } from '../../dist/tree/diff.js'
import { Tree } from '../../dist/tree/tree.js'
import { hashTree, readTree } from '../helpers/hash.js'

const temp = () => mkdtempSync(join(tmpdir(), 'airmcp-tree-'))

describe('Tree', () => {
  it('records creates and updates, and nothing for identical content', () => {
    const dir = temp()
    writeFileSync(join(dir, 'same.txt'), 'same')
    writeFileSync(join(dir, 'old.txt'), 'old')
    const tree = new Tree(dir)
    tree.write('same.txt', 'same')
    tree.write('old.txt', 'new')
    tree.write('a/b.txt', 'b')
    expect(tree.listChanges().map((c) => `${c.type} ${c.path}`)).toEqual(['CREATE a/b.txt', 'UPDATE old.txt'])
    expect(tree.read('a/b.txt')).toBe('b')
    expect(tree.children('a')).toEqual(['b.txt'])
    flushTree(tree)
    const again = new Tree(dir)
    again.write('old.txt', 'new')
    again.write('a/b.txt', 'b')
    expect(again.listChanges()).toEqual([])
  })

  it('refuses paths outside the root', () => {
    expect(() => new Tree(temp()).write('../escape.txt', 'x')).toThrow(/outside the tree/)
  })

  it('reports a conflict for a file that exists with other content, and accepts it with overwrite', () => {
    const dir = temp()
    writeFileSync(join(dir, 'x.txt'), 'mine')
    const tree = new Tree(dir)
    tree.create('x.txt', 'theirs')
    expect(tree.conflicts()).toEqual([{ path: 'x.txt', reason: 'exists with other content' }])
    expect(tree.listChanges()).toEqual([])
    const forced = new Tree(dir)
    forced.create('x.txt', 'theirs', true)
    expect(forced.listChanges()).toMatchObject([{ type: 'UPDATE', path: 'x.txt' }])
  })

  it('renders a unified diff without touching the disk', () => {
    const dir = temp()
    writeFileSync(join(dir, 'f.ts'), 'a\nb\nc\n')
    const before = hashTree(dir)
    const tree = new Tree(dir)
    tree.write('f.ts', 'a\nB\nc\n')
    expect(tree.diff()).toBe('--- a/f.ts\n+++ b/f.ts\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n')
    expect(hashTree(dir)).toBe(before)
  })

  it('leaves no partial file when a flush is interrupted', () => {
    const dir = temp()
    writeFileSync(join(dir, 'blocker'), 'a file where a folder is needed')
    const tree = new Tree(dir)
    tree.write('a.txt', 'first')
    tree.write('blocker/inside.txt', 'cannot be written')
    tree.write('z.txt', 'last')
    expect(() => flushTree(tree)).toThrow()
    expect(readdirSync(dir).sort()).toEqual(['blocker'])
    expect(readTree(dir).get('blocker')).toBe('a file where a folder is needed')
  })

  it('deletes files', () => {
    const dir = temp()
    mkdirSync(join(dir, 'd'))
    writeFileSync(join(dir, 'd/x.txt'), 'x')
    const tree = new Tree(dir)
    tree.delete('d/x.txt')
    tree.delete('missing.txt')
    expect(tree.listChanges()).toEqual([{ path: 'd/x.txt', type: 'DELETE' }])
    flushTree(tree)
    expect(existsSync(join(dir, 'd/x.txt'))).toBe(false)
  })

  it('runs in memory: reads, plans and flushes a map, never the disk', () => {
    const tree = Tree.inMemory({ 'a.txt': 'a', 'd/b.txt': 'b' })
    expect(tree.children('')).toEqual(['a.txt', 'd'])
    tree.write('a.txt', 'A')
    tree.write('d/c.txt', 'c')
    tree.delete('d/b.txt')
    expect(tree.listChanges().map((c) => `${c.type} ${c.path}`)).toEqual(['UPDATE a.txt', 'DELETE d/b.txt', 'CREATE d/c.txt'])
    expect(tree.children('d')).toEqual(['c.txt'])
    flushTree(tree)
    expect(tree.listChanges()).toEqual([])
    expect([...tree.memory!.entries()]).toEqual([
      ['/virtual/a.txt', 'A'],
      ['/virtual/d/c.txt', 'c'],
    ])
    tree.write('a.txt', 'A')
    expect(tree.listChanges()).toEqual([])
  })

  it('reaches files outside its root by absolute path, and backs up the ones marked for it outside both', () => {
    const dir = temp()
    const home = temp()
    const config = join(home, '.cursor/mcp.json')
    mkdirSync(join(home, '.cursor'))
    writeFileSync(config, '{}\n')
    chmodSync(config, 0o600)
    const tree = new Tree(dir)
    tree.write(join(dir, 'inside.txt'), 'in')
    tree.write(config, '{ "x": 1 }\n', { backup: true })
    expect(tree.listChanges().map((c) => c.path)).toEqual([config, 'inside.txt'])
    const backups = join(home, '.airmcp/backups')
    const now = new Date('2026-01-02T03:04:05.006Z')
    const { backups: made } = flushTree(tree, { backupDir: backups, now })
    expect(made).toEqual([{ path: config, backup: backupPath(backups, config, now) }])
    expect(made[0].backup.startsWith(join(backups, '2026-01-02T03-04-05-006Z'))).toBe(true)
    expect(readFileSync(made[0].backup, 'utf8')).toBe('{}\n')
    expect(readFileSync(config, 'utf8')).toBe('{ "x": 1 }\n')
    expect(statSync(config).mode & 0o777).toBe(0o600)
    expect(readdirSync(join(home, '.cursor'))).toEqual(['mcp.json'])
    rmSync(dir, { recursive: true, force: true })
    rmSync(home, { recursive: true, force: true })
  })

  it('diffs creations, deletions and large files (jsdiff: no quadratic table)', () => {
    expect(unifiedDiff('n.txt', undefined, 'x\ny\n')).toBe('--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,2 @@\n+x\n+y\n')
    expect(unifiedDiff('o.txt', 'x\n', undefined)).toBe('--- a/o.txt\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-x\n')
    expect(unifiedDiff('same.txt', 'x\n', 'x\n')).toBe('')
    // 60k lines: an LCS table would need 60k x 60k cells; the diff has one hunk of 7 lines.
    const lines = Array.from({ length: 60_000 }, (_, i) => `line ${i}`)
    const changed = lines.with(30_000, 'changed')
    const diff = unifiedDiff('big.txt', `${lines.join('\n')}\n`, `${changed.join('\n')}\n`)
    expect(diff.split('\n').filter((l) => l.startsWith('@@'))).toEqual(['@@ -29998,7 +29998,7 @@'])
  })
})
