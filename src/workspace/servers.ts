import { AirmcpError } from '../errors.js'
import type { Tree } from '../tree/tree.js'
import { readJson } from './json.js'
import { literalValue, type Morph } from './literals.js'

export type ServerTransport = { type: 'stdio' } | { type: 'sse' | 'http'; port: number; path?: string }

/** One server folder as its files describe it, before the gateway is consulted. */
export interface ServerFiles {
  name: string
  /** `servers/<name>`, relative to the workspace root. */
  dir: string
  /** Its package.json `name`. */
  packageName?: string
  /** How it is served: the source's literal wins over package.json's `airmcp` field. */
  transport: ServerTransport
  /** Where `transport` was read. */
  transportFrom: 'source' | 'package.json'
  /** The port each place names; they can disagree after a hand edit, and both count as used. */
  ports: { source?: number; packageJson?: number }
}

function fromValue(value: unknown): ServerTransport | undefined {
  if (!value || typeof value !== 'object') return undefined
  const t = value as { type?: unknown; port?: unknown; path?: unknown }
  if (t.type === 'stdio') return { type: 'stdio' }
  if ((t.type === 'sse' || t.type === 'http') && typeof t.port === 'number') {
    return { type: t.type, port: t.port, ...(typeof t.path === 'string' ? { path: t.path } : {}) }
  }
  return undefined
}

/**
 * The literal `transport` of the file's `defineServer({...})` call, if it has one. The file is parsed and walked
 * with the compiler alone, and only the transport's value is wrapped for ts-morph: wrapping every node of every
 * server cost more than parsing them (a third of `add server` in a 50-server workspace).
 */
export function sourceTransport(morph: Morph, path: string, text: string): ServerTransport | undefined {
  const { ts } = morph
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  let found: ServerTransport | undefined
  const visit = (node: import('ts-morph').ts.Node): void => {
    if (found) return
    if (ts.isCallExpression(node) && node.expression.getText(file) === 'defineServer') {
      const options = node.arguments[0]
      const transport = options && ts.isObjectLiteralExpression(options) ? options.properties.find((p) => p.name?.getText(file) === 'transport') : undefined
      if (transport && ts.isPropertyAssignment(transport)) {
        found = fromValue(literalValue(morph, morph.createWrappedNode(transport.initializer, { sourceFile: file })))
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

/** Reads one server folder: its package.json and the transport of its `src/index.ts` (`sourceTransport`, or a cached result of it). */
export function readServerFiles(transportOf: (path: string, text: string) => ServerTransport | undefined, tree: Tree, name: string): ServerFiles {
  const dir = `servers/${name}`
  const pkg = readJson<{ name?: string; airmcp?: unknown }>(tree, `${dir}/package.json`)
  const declared = fromValue(pkg?.airmcp)
  const path = `${dir}/src/index.ts`
  const text = tree.read(path)
  const fromSource = text === undefined ? undefined : transportOf(path, text)
  const transport = fromSource ?? declared
  if (!transport) {
    throw new AirmcpError(
      'UNKNOWN_TRANSPORT',
      `Cannot tell how "${path}" is served: its defineServer({ transport }) is not a literal and "${dir}/package.json" has no "airmcp" field.`,
      `write transport: { type: 'sse', port: 3510 } literally, or add "airmcp": { "type": "sse", "port": 3510 } to ${dir}/package.json.`,
    )
  }
  return {
    name,
    dir,
    packageName: pkg?.name,
    transport,
    transportFrom: fromSource ? 'source' : 'package.json',
    ports: {
      source: fromSource && 'port' in fromSource ? fromSource.port : undefined,
      packageJson: declared && 'port' in declared ? declared.port : undefined,
    },
  }
}

/** The names of the server folders (a folder under `servers/` with a package.json). */
export function serverNames(tree: Tree): string[] {
  return tree.children('servers').filter((name) => tree.exists(`servers/${name}/package.json`))
}
