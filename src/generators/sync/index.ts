import type { CallExpression, ObjectLiteralExpression, SourceFile, Statement } from 'ts-morph'
import { AirmcpError } from '../../lib/errors.js'
import type { Tree } from '../../tree/tree.js'
import { literalValue, objectValue, readWorkspaceServers, type ServerTransport } from './read-server.js'

type Morph = typeof import('ts-morph')

export const GATEWAY_FILE = 'gateway/src/index.ts'
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

export interface SyncResult {
  added: string[]
  updated: string[]
  removed: string[]
  /** Registrations left as written, with why. */
  skipped: { id: string; reason: string }[]
  changed: boolean
}

interface Registration {
  statement: Statement
  options: ObjectLiteralExpression
  id: string
  name: string
  connection: Record<string, unknown>
}

/** The style of the file we edit: line ending, indent unit and quote, so new code looks like the old. */
interface Style {
  eol: string
  indent: string
  quote: "'" | '"'
}

function detectStyle(text: string): Style {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const indent = /\n( +|\t)\S/.exec(text)?.[1] ?? '  '
  const singles = (text.match(/'/g) ?? []).length
  const doubles = (text.match(/"/g) ?? []).length
  return { eol, indent: indent === '\t' ? '\t' : ' '.repeat(Math.min(indent.length, 4)), quote: doubles > singles ? '"' : "'" }
}

function str(style: Style, value: string): string {
  return style.quote + value.replace(/\\/g, '\\\\').replaceAll(style.quote, `\\${style.quote}`) + style.quote
}

/** The registration the gateway should have for a server (seed shape). */
function desiredConnection(name: string, transport: ServerTransport): Record<string, unknown> {
  if (transport.type === 'stdio') return { type: 'stdio', command: 'node', args: [`../servers/${name}/dist/index.js`] }
  const path = transport.type === 'http' ? (transport.path ?? '/mcp') : ''
  return { type: transport.type, url: `http://localhost:${transport.port}${path}` }
}

function connectionCode(style: Style, connection: Record<string, unknown>, depth: number): string {
  const pad = style.indent.repeat(depth)
  if (connection.type !== 'stdio') {
    return `{ type: ${str(style, connection.type as string)}, url: ${str(style, connection.url as string)} }`
  }
  const args = (connection.args as string[]).map((a) => str(style, a)).join(', ')
  return (
    `{${style.eol}${pad}${style.indent}type: ${str(style, 'stdio')},${style.eol}` +
    `${pad}${style.indent}command: ${str(style, connection.command as string)},${style.eol}` +
    `${pad}${style.indent}args: [${args}],${style.eol}${pad}}`
  )
}

function registrationCode(style: Style, gatewayVar: string, id: string, name: string, connection: Record<string, unknown>): string {
  const i = style.indent
  const e = style.eol
  return (
    `${gatewayVar}.register({${e}` +
    `${i}id: ${str(style, id)},${e}` +
    `${i}name: ${str(style, name)},${e}` +
    `${i}transport: ${str(style, connection.type as string)},${e}` +
    `${i}connection: ${connectionCode(style, connection, 1)},${e}` +
    `});`
  )
}

interface Local {
  /** The URL's port, for sse/http registrations on this machine. */
  port?: number
  /** The server folder a stdio registration launches (`servers/<name>`). */
  serverDir?: string
}

/** What makes a registration provably local; undefined when it is not. */
function localTarget(connection: Record<string, unknown>): Local | undefined {
  if (connection.type === 'stdio') {
    const args = Array.isArray(connection.args) ? (connection.args as unknown[]) : []
    for (const arg of args) {
      const match = typeof arg === 'string' ? /(?:^|[\\/])servers[\\/]([a-z][a-z0-9-]*)[\\/]/.exec(arg) : null
      if (match) return { serverDir: match[1] }
    }
    return undefined
  }
  if (typeof connection.url !== 'string') return undefined
  try {
    const url = new URL(connection.url)
    if (!LOCAL_HOSTS.has(url.hostname)) return undefined
    return { port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) }
  } catch {
    return undefined
  }
}

function sameConnection(current: Record<string, unknown>, desired: Record<string, unknown>): boolean {
  if (current.type !== desired.type && !(current.type === 'streamable-http' && desired.type === 'http')) return false
  if (desired.type === 'stdio') {
    return current.command === desired.command && JSON.stringify(current.args) === JSON.stringify(desired.args)
  }
  const a = localTarget(current)
  const b = localTarget(desired)
  if (a?.port !== b?.port) return false
  if (desired.type === 'http') return new URL(current.url as string).pathname === new URL(desired.url as string).pathname
  return true
}

function findGateway(morph: Morph, file: SourceFile): string {
  const { Node: N, SyntaxKind } = morph
  for (const decl of file.getDescendantsOfKind(SyntaxKind.VariableDeclaration)) {
    const init = decl.getInitializer()
    if (init && N.isNewExpression(init) && init.getExpression().getText() === 'Gateway') return decl.getName()
  }
  throw new AirmcpError(
    'NO_GATEWAY',
    `"${GATEWAY_FILE}" has no \`const gateway = new Gateway({...})\` to register servers on.`,
    'restore the new Gateway(...) declaration (see the airmcp README), then run airmcp gateway sync again.',
  )
}

function findRegistrations(morph: Morph, file: SourceFile, gatewayVar: string): Registration[] {
  const { Node: N, SyntaxKind } = morph
  const found: Registration[] = []
  for (const call of file.getDescendantsOfKind(SyntaxKind.CallExpression) as CallExpression[]) {
    const callee = call.getExpression()
    if (!N.isPropertyAccessExpression(callee) || callee.getName() !== 'register') continue
    if (callee.getExpression().getText() !== gatewayVar) continue
    const options = call.getArguments()[0]
    const statement = call.getParentIfKind(SyntaxKind.ExpressionStatement)
    if (!options || !N.isObjectLiteralExpression(options) || !statement) continue
    const values = objectValue(morph, options)
    const connection = options.getProperty('connection')
    const connectionValue =
      connection && N.isPropertyAssignment(connection) ? literalValue(morph, connection.getInitializer()) : undefined
    found.push({
      statement,
      options,
      id: typeof values.id === 'string' ? values.id : '',
      name: typeof values.name === 'string' ? values.name : '',
      connection: (connectionValue as Record<string, unknown>) ?? {},
    })
  }
  return found
}

interface Edit {
  start: number
  end: number
  text: string
}

/**
 * Keeps the `gateway.register(...)` calls of `gateway/src/index.ts` in step with `servers/`: adds one per
 * server without one, updates the connection of managed ones, removes managed ones whose server is gone.
 * Managed means provably local and ours: a localhost URL or a stdio command into `servers/<name>`, with
 * id `<name>-1` or at that server's port. Everything else in the file stays byte for byte.
 */
export async function syncGenerator(tree: Tree): Promise<SyncResult> {
  const text = tree.read(GATEWAY_FILE)
  if (text === undefined) {
    throw new AirmcpError('NO_GATEWAY_FILE', `"${GATEWAY_FILE}" does not exist.`, 'create the workspace with airmcp new, or restore the file.')
  }
  const morph = await import('ts-morph')
  const project = new morph.Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true })
  const servers = readWorkspaceServers(morph, tree)

  const file = project.createSourceFile(GATEWAY_FILE, text, { overwrite: true })
  const parseErrors = (file.compilerNode as unknown as { parseDiagnostics?: { start?: number; messageText: unknown }[] }).parseDiagnostics ?? []
  if (parseErrors.length) {
    const first = parseErrors[0]
    const { line, column } = file.getLineAndColumnAtPos(first.start ?? 0)
    const message = typeof first.messageText === 'string' ? first.messageText : JSON.stringify(first.messageText)
    throw new AirmcpError('GATEWAY_SYNTAX', `"${GATEWAY_FILE}" does not parse (line ${line}, column ${column}): ${message}`, 'fix the syntax error, then run airmcp gateway sync again. Nothing was written.')
  }
  const gatewayVar = findGateway(morph, file)
  const registrations = findRegistrations(morph, file, gatewayVar)
  const style = detectStyle(text)
  const result: SyncResult = { added: [], updated: [], removed: [], skipped: [], changed: false }
  const edits: Edit[] = []
  const byName = new Map(servers.map((s) => [s.name, s]))
  const managed = new Set<Registration>()

  for (const reg of registrations) {
    const local = localTarget(reg.connection)
    const server = byName.get(reg.name)
    if (!local) {
      result.skipped.push({ id: reg.id || '(no id)', reason: 'not local (another host, or not a literal)' })
      continue
    }
    const ours = server
      ? reg.id === `${server.name}-1` ||
        (server.transport.type !== 'stdio' && local.port === server.transport.port) ||
        local.serverDir === server.name
      : reg.id === `${reg.name}-1` || (local.serverDir !== undefined && !byName.has(local.serverDir))
    if (!ours) {
      result.skipped.push({ id: reg.id || '(no id)', reason: 'local, but not the registration sync manages' })
      continue
    }
    managed.add(reg)
    if (!server) {
      // The server is gone: drop the statement and the line break after it; comments above it stay.
      const start = reg.statement.getStart()
      let end = reg.statement.getEnd()
      const after = /^[ \t]*\r?\n/.exec(text.slice(end))
      if (after) end += after[0].length
      const lineStart = text.lastIndexOf('\n', start - 1) + 1
      const onlyIndent = /^[ \t]*$/.test(text.slice(lineStart, start))
      // Between two blank lines, take one of them too, so no double gap is left.
      const blankAfter = /^[ \t]*\r?\n/.exec(text.slice(end))
      if (onlyIndent && blankAfter && /\n[ \t]*\r?\n$/.test(text.slice(0, lineStart))) end += blankAfter[0].length
      edits.push({ start: onlyIndent ? lineStart : start, end, text: '' })
      result.removed.push(reg.id)
      continue
    }
    const desired = desiredConnection(server.name, server.transport)
    if (sameConnection(reg.connection, desired)) continue
    const depth = 1
    for (const [key, value] of [
      ['transport', str(style, server.transport.type)],
      ['connection', connectionCode(style, desired, depth)],
    ] as const) {
      const property = reg.options.getProperty(key)
      if (property && morph.Node.isPropertyAssignment(property)) {
        const init = property.getInitializer()!
        edits.push({ start: init.getStart(), end: init.getEnd(), text: value })
      }
    }
    result.updated.push(reg.id)
  }

  const registered = new Set([...managed].map((r) => r.name))
  const takenIds = new Set(registrations.map((r) => r.id))
  const additions: string[] = []
  for (const server of servers) {
    if (registered.has(server.name)) continue
    let n = 1
    while (takenIds.has(`${server.name}-${n}`)) n++
    const id = `${server.name}-${n}`
    takenIds.add(id)
    additions.push(registrationCode(style, gatewayVar, id, server.name, desiredConnection(server.name, server.transport)))
    result.added.push(id)
  }
  if (additions.length) edits.push(insertion(morph, file, text, gatewayVar, registrations, additions, style))

  let next = text
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    next = next.slice(0, edit.start) + edit.text + next.slice(edit.end)
  }
  result.changed = next !== text
  if (result.changed) tree.write(GATEWAY_FILE, next)
  return result
}

/** Where new registrations go: after the last one, else before `gateway.start()`, else after the Gateway. */
function insertion(
  morph: Morph,
  file: SourceFile,
  text: string,
  gatewayVar: string,
  registrations: Registration[],
  additions: string[],
  style: Style,
): Edit {
  const block = additions.join(style.eol + style.eol)
  const last = registrations.at(-1)
  if (last) {
    const end = last.statement.getEnd()
    return { start: end, end, text: style.eol + style.eol + block }
  }
  const start = file
    .getStatements()
    .find((s) => s.getText().includes(`${gatewayVar}.start(`))
  if (start) {
    const at = start.getStart()
    return { start: at, end: at, text: block + style.eol + style.eol }
  }
  const declaration = file
    .getDescendantsOfKind(morph.SyntaxKind.VariableStatement)
    .find((s) => s.getDeclarations().some((d) => d.getName() === gatewayVar))!
  const end = declaration.getEnd()
  return { start: end, end, text: style.eol + style.eol + block }
}
