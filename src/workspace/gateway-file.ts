import type { CallExpression, Project, SourceFile } from 'ts-morph'
import { AirmcpError } from '../errors.js'
import { isLoopbackHost } from '../names.js'
import { isWholeLiteral, literalValue, objectValue, type Morph } from './literals.js'

export const GATEWAY_FILE = 'gateway/src/index.ts'
export const DEFAULT_GATEWAY_PORT = 4000

/** A span of the gateway file's text. */
export interface Span {
  start: number
  end: number
}

/** Where a registration reaches, when it is provably on this machine. */
export interface LocalTarget {
  /** The URL's port, for sse/http registrations. */
  port?: number
  /** The server folder a stdio registration launches (`servers/<name>`). */
  serverDir?: string
}

/** One `gateway.register({...})` call, with the spans sync edits. */
export interface Registration {
  id: string
  name: string
  connection: Record<string, unknown>
  /** Set when the connection is provably local; such registrations are the ones sync may manage. */
  local?: LocalTarget
  /** Every literal property of the call's options (`transport`, `tools`, `protocol` …), as the Gateway receives them. */
  options: Record<string, unknown>
  statement: Span
  /** The values of its `transport` and `connection` properties. */
  transportValue?: Span
  connectionValue?: Span
}

/** `gateway/src/index.ts` as sync and connect need it. */
export interface GatewayFile {
  path: string
  text: string
  /** The variable holding `new Gateway({...})`. */
  variable: string
  /** The literal `port` of `new Gateway({...})`, else 4000 (what the gateway itself defaults to). */
  port: number
  registrations: Registration[]
  /**
   * True when every `register` call on the Gateway is a top-level statement with a wholly literal options object: the
   * source alone then tells the registration set the gateway makes (`airmcp dev` hands it over as is).
   */
  registrationsKnown: boolean
  /** Where new registrations go: after the last one, else before `gateway.start()`, else after the Gateway. */
  insertion: { at: number; before: boolean }
}

/** What makes a registration provably local; undefined when it is not. */
export function localTarget(connection: Record<string, unknown>): LocalTarget | undefined {
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
    if (!isLoopbackHost(url.hostname)) return undefined
    return { port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) }
  } catch {
    return undefined
  }
}

function span(node: { getStart(): number; getEnd(): number }): Span {
  return { start: node.getStart(), end: node.getEnd() }
}

function refuseParseErrors(file: SourceFile): void {
  const parseErrors = (file.compilerNode as unknown as { parseDiagnostics?: { start?: number; messageText: unknown }[] }).parseDiagnostics ?? []
  if (!parseErrors.length) return
  const first = parseErrors[0]
  const { line, column } = file.getLineAndColumnAtPos(first.start ?? 0)
  const message = typeof first.messageText === 'string' ? first.messageText : JSON.stringify(first.messageText)
  throw new AirmcpError(
    'GATEWAY_SYNTAX',
    `"${GATEWAY_FILE}" does not parse (line ${line}, column ${column}): ${message}`,
    'fix the syntax error, then run airmcp gateway sync again. Nothing was written.',
  )
}

function findRegistrations(morph: Morph, file: SourceFile, variable: string): { found: Registration[]; known: boolean } {
  const { Node: N, SyntaxKind } = morph
  const found: Registration[] = []
  let known = true
  for (const call of file.getDescendantsOfKind(SyntaxKind.CallExpression) as CallExpression[]) {
    const callee = call.getExpression()
    if (!N.isPropertyAccessExpression(callee) || callee.getName() !== 'register') continue
    if (callee.getExpression().getText() !== variable) continue
    const options = call.getArguments()[0]
    const statement = call.getParentIfKind(SyntaxKind.ExpressionStatement)
    // A call inside a loop or an `if` may run any number of times: only top-level ones are known.
    known &&= isWholeLiteral(morph, options) && statement?.getParent() === file
    if (!options || !N.isObjectLiteralExpression(options) || !statement) continue
    const values = objectValue(morph, options)
    const valueOf = (key: string) => {
      const property = options.getProperty(key)
      return property && N.isPropertyAssignment(property) ? property.getInitializer() : undefined
    }
    const connectionNode = valueOf('connection')
    const transportNode = valueOf('transport')
    const connection = (literalValue(morph, connectionNode) as Record<string, unknown> | undefined) ?? {}
    found.push({
      id: typeof values.id === 'string' ? values.id : '',
      name: typeof values.name === 'string' ? values.name : '',
      connection,
      local: localTarget(connection),
      options: values,
      statement: span(statement),
      transportValue: transportNode && span(transportNode),
      connectionValue: connectionNode && span(connectionNode),
    })
  }
  return { found, known }
}

/**
 * Parses `gateway/src/index.ts`: the `new Gateway({...})` variable and port, and every `register` call.
 * A file that does not parse, or has no Gateway, is refused with the parser's message or what is missing.
 */
export function readGatewayFile(morph: Morph, project: Project, text: string): GatewayFile {
  const { Node: N, SyntaxKind } = morph
  const file = project.createSourceFile(GATEWAY_FILE, text, { overwrite: true })
  refuseParseErrors(file)
  for (const decl of file.getDescendantsOfKind(SyntaxKind.VariableDeclaration)) {
    const init = decl.getInitializer()
    if (!init || !N.isNewExpression(init) || init.getExpression().getText() !== 'Gateway') continue
    const variable = decl.getName()
    const options = init.getArguments()[0]
    const port = options && N.isObjectLiteralExpression(options) ? objectValue(morph, options).port : undefined
    const { found: registrations, known } = findRegistrations(morph, file, variable)
    const last = registrations.at(-1)
    const start = file.getStatements().find((s) => s.getText().includes(`${variable}.start(`))
    const declaration = decl.getFirstAncestorByKind(SyntaxKind.VariableStatement) ?? decl
    const insertion = last
      ? { at: last.statement.end, before: false }
      : start
        ? { at: start.getStart(), before: true }
        : { at: declaration.getEnd(), before: false }
    return { path: GATEWAY_FILE, text, variable, port: typeof port === 'number' ? port : DEFAULT_GATEWAY_PORT, registrations, registrationsKnown: known, insertion }
  }
  throw new AirmcpError(
    'NO_GATEWAY',
    `"${GATEWAY_FILE}" has no \`const gateway = new Gateway({...})\` to register servers on.`,
    'restore the new Gateway(...) declaration (see the airmcp README), then run airmcp gateway sync again.',
  )
}
