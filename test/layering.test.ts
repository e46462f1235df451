import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './helpers/processes.js'

const SRC = join(ROOT, 'src')

/** The unit a source file belongs to: its top folder under src/ (`workspace`), or the file itself (`names.ts`). */
function unitOf(file: string): string {
  return relative(SRC, file).split(sep)[0]
}

/**
 * Unit → the units its files import (static and dynamic imports of ./ and ../ paths, types included), for
 * the files under `root`; a unit is what `unit` makes of a path (undefined: outside the graph).
 */
function importGraph(root: string, unit: (file: string) => string | undefined): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
  for (const file of files) {
    const path = join(root, file)
    const from = unit(path)!
    const edges = graph.get(from) ?? new Set<string>()
    graph.set(from, edges)
    for (const [, specifier] of readFileSync(path, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g)) {
      const to = unit(resolve(dirname(path), specifier))
      if (to !== undefined && to !== from) edges.add(to)
    }
  }
  return graph
}

const folderGraph = () => importGraph(SRC, unitOf)

/** The gateway's files (by path under src/gateway, `.js` imports read as their `.ts` files). */
function gatewayGraph(): Map<string, Set<string>> {
  const gateway = join(SRC, 'gateway')
  return importGraph(gateway, (file) => {
    const path = relative(gateway, file)
    return path.startsWith('..') ? undefined : path.replace(/\.js$/, '.ts')
  })
}

/** Every cycle's members (strongly connected components with more than one folder). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0
  const indexes = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const found: string[][] = []
  const visit = (node: string) => {
    indexes.set(node, index)
    low.set(node, index++)
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (!indexes.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (stack.includes(next)) low.set(node, Math.min(low.get(node)!, indexes.get(next)!))
    }
    if (low.get(node) === indexes.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        component.push(member)
      } while (member !== node)
      if (component.length > 1) found.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!indexes.has(node)) visit(node)
  return found
}

describe('source layout', () => {
  const graph = folderGraph()

  it('has no import cycles between folders of src/', () => {
    expect(cycles(graph)).toEqual([])
  })

  it('has no import cycles between the files of the gateway (its stages depend one way)', () => {
    expect(cycles(gatewayGraph())).toEqual([])
  })

  it('has no grab-bag folder: each behaviour lives in the folder named for it', () => {
    const folders = [...graph.keys()].filter((unit) => !unit.endsWith('.ts'))
    expect(folders.filter((f) => /^(lib|libs|utils?|helpers?|common|shared|misc)$/.test(f))).toEqual([])
  })

  it('keeps the files at the top of src/ leaves that any layer may import', () => {
    for (const [unit, edges] of graph) if (unit.endsWith('.ts')) expect([unit, [...edges]]).toEqual([unit, []])
  })

  it('keeps the runtime and gateway below the CLI: they import no CLI folder', () => {
    const cli = new Set(['commands', 'cli', 'generators', 'workspace', 'tree', 'clients', 'spec', 'tasks'])
    for (const unit of ['runtime', 'gateway']) {
      expect([unit, [...(graph.get(unit) ?? [])].filter((to) => cli.has(to))]).toEqual([unit, []])
    }
  })
})
