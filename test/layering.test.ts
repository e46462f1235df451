import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './helpers/processes.js'

const SRC = join(ROOT, 'src')

/** The unit a source file belongs to: its top folder under src/ (`workspace`), or the file itself (`names.ts`). */
function unitOf(file: string): string {
  return relative(SRC, file).split(sep)[0]
}

/** The TypeScript files under `root`, as paths relative to it. */
const tsFiles = (root: string) => readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))

/** Every relative import (static and dynamic, types included) of the files under `root`: [importer, imported], as paths. */
function* importsUnder(root: string): Generator<[string, string]> {
  for (const file of tsFiles(root)) {
    const path = join(root, file)
    for (const [, specifier] of readFileSync(path, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g)) {
      yield [path, resolve(dirname(path), specifier)]
    }
  }
}

/**
 * Unit → the units its files import, for the files under `root`; a unit is what `unit` makes of a path
 * (undefined: outside the graph).
 */
function importGraph(root: string, unit: (file: string) => string | undefined): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  const edgesOf = (from: string) => graph.get(from) ?? graph.set(from, new Set()).get(from)!
  for (const file of tsFiles(root)) edgesOf(unit(join(root, file))!)
  for (const [path, imported] of importsUnder(root)) {
    const from = unit(path)!
    const to = unit(imported)
    if (to !== undefined && to !== from) edgesOf(from).add(to)
  }
  return graph
}

const folderGraph = () => importGraph(SRC, unitOf)

const GATEWAY = join(SRC, 'gateway')

/** A path under src/gateway as the gateway's files are named (`routing/router.ts`; `.js` imports read as their `.ts` files). */
function gatewayPath(file: string): string | undefined {
  const path = relative(GATEWAY, file)
  return path.startsWith('..') ? undefined : path.replace(/\.js$/, '.ts')
}

/** The gateway's folder a path is in (`routing`), or undefined for a file at the top of src/gateway. */
function gatewayFolder(file: string): string | undefined {
  const [first, ...rest] = gatewayPath(file)?.split(sep) ?? []
  return rest.length > 0 ? first : undefined
}

/** The gateway's files (by path under src/gateway). */
const gatewayGraph = () => importGraph(GATEWAY, gatewayPath)

/** The gateway's folders, and the files at its top (`gateway.ts`, `types.ts`), each one unit. */
const gatewayFolderGraph = () => importGraph(GATEWAY, (file) => gatewayPath(file)?.split(sep)[0])

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

  it('has no import cycles between the folders of the gateway (front, routing, upstreams, then what they share)', () => {
    const graph = gatewayFolderGraph()
    expect(graph.has('routing') && graph.has('upstreams')).toBe(true)
    expect(cycles(graph)).toEqual([])
  })

  it("takes another gateway folder's files through its index.ts (imports inside a folder stay direct)", () => {
    const around: string[] = []
    for (const [path, imported] of importsUnder(GATEWAY)) {
      const folder = gatewayFolder(imported)
      if (folder === undefined || folder === gatewayFolder(path) || gatewayPath(imported) === join(folder, 'index.ts')) continue
      around.push(`${gatewayPath(path)} imports ${gatewayPath(imported)}`)
    }
    expect(around).toEqual([])
  })

  it('gives every folder of the gateway an index.ts whose first line says what the folder holds', () => {
    const folders = new Set(tsFiles(GATEWAY).map(dirname).filter((folder) => folder !== '.'))
    expect(folders.size).toBeGreaterThan(5)
    for (const folder of folders) {
      const index = join(GATEWAY, folder, 'index.ts')
      const firstLine = existsSync(index) ? readFileSync(index, 'utf8').split('\n')[0] : 'no index.ts'
      expect([folder, firstLine]).toEqual([folder, expect.stringMatching(/^\/\/ \S.{20,}/)])
    }
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
