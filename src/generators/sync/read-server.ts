import type { Node, ObjectLiteralExpression, SourceFile } from 'ts-morph'
import { AirmcpError } from '../../lib/errors.js'
import { listServers, type ServerEntry } from '../../lib/workspace.js'
import type { Tree } from '../../tree/tree.js'

export type ServerTransport = { type: 'stdio' } | { type: 'sse' | 'http'; port: number; path?: string }

type Morph = typeof import('ts-morph')

/** A literal's value, or undefined when the node is not a plain literal. */
export function literalValue(morph: Morph, node: Node | undefined): unknown {
  const { Node: N } = morph
  if (!node) return undefined
  if (N.isStringLiteral(node) || N.isNoSubstitutionTemplateLiteral(node)) return node.getLiteralValue()
  if (N.isNumericLiteral(node)) return node.getLiteralValue()
  if (N.isTrueLiteral(node)) return true
  if (N.isFalseLiteral(node)) return false
  if (N.isArrayLiteralExpression(node)) {
    const values = node.getElements().map((e) => literalValue(morph, e))
    return values.some((v) => v === undefined) ? undefined : values
  }
  if (N.isObjectLiteralExpression(node)) return objectValue(morph, node)
  return undefined
}

/** The literal properties of an object literal (non-literal ones are left out). */
export function objectValue(morph: Morph, node: ObjectLiteralExpression): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const property of node.getProperties()) {
    if (!morph.Node.isPropertyAssignment(property)) continue
    const value = literalValue(morph, property.getInitializer())
    if (value !== undefined) out[property.getName().replace(/^['"]|['"]$/g, '')] = value
  }
  return out
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
 * How a server is served: the literal `transport` of its `defineServer({...})`, else the `airmcp` field
 * of its package.json, else an error naming the file.
 */
export function readServerTransport(morph: Morph, file: SourceFile | undefined, server: ServerEntry): ServerTransport {
  const { Node: N, SyntaxKind } = morph
  if (file) {
    for (const call of file.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      if (call.getExpression().getText() !== 'defineServer') continue
      const options = call.getArguments()[0]
      if (!options || !N.isObjectLiteralExpression(options)) continue
      const transport = options.getProperty('transport')
      if (transport && N.isPropertyAssignment(transport)) {
        const value = fromValue(literalValue(morph, transport.getInitializer()))
        if (value) return value
      }
    }
  }
  const declared = fromValue(server.declared)
  if (declared) return declared
  throw new AirmcpError(
    'UNKNOWN_TRANSPORT',
    `Cannot tell how "${server.dir}/src/index.ts" is served: its defineServer({ transport }) is not a literal and "${server.dir}/package.json" has no "airmcp" field.`,
    `write transport: { type: 'sse', port: 3510 } literally, or add "airmcp": { "type": "sse", "port": 3510 } to ${server.dir}/package.json.`,
  )
}

/** Every server of the workspace with how it is served, each source parsed once in an in-memory project. */
export function readWorkspaceServers(morph: Morph, tree: Tree): (ServerEntry & { transport: ServerTransport })[] {
  const project = new morph.Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true })
  return listServers(tree).map((server) => {
    const path = `${server.dir}/src/index.ts`
    const source = tree.read(path)
    const file = source === undefined ? undefined : project.createSourceFile(path, source, { overwrite: true })
    return { ...server, transport: readServerTransport(morph, file, server) }
  })
}
