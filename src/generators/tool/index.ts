import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ArrayLiteralExpression, Node, SourceFile } from 'ts-morph'
import { AirmcpError } from '../../errors.js'
import { PARAM_TYPES, type ParamTypeName } from '../../names.js'
import { validateServerName, validateToolName } from '../../workspace/names.js'
import { quote, TEMPLATES_DIR } from '../render.js'
import type { Tree } from '../../tree/tree.js'
import { loadMorph, type Morph } from '../../workspace/literals.js'


export interface ToolGeneratorOptions {
  server: string
  tool: string
  /** `name:type` or `name:type?`, e.g. `limit:number?`. */
  params?: string[]
  description?: string
  /** Give the tool an MCP App: a page in src/<tool>.html that shows the tool's result. */
  ui?: boolean
  /** A long-running tool: it runs as a task for clients that negotiate tasks, reporting progress, stopping when cancelled. */
  task?: boolean
}

export interface ToolGeneratorResult {
  file: string
  added: boolean
}

interface Param {
  name: string
  type: ParamTypeName
  optional: boolean
}

function parseParam(text: string): Param {
  const match = /^([A-Za-z_$][\w$]*):([a-z]+)(\?)?$/.exec(text)
  if (!match || !(PARAM_TYPES as readonly string[]).includes(match[2])) {
    throw new AirmcpError('INVALID_PARAM', `Invalid --param "${text}".`, `write name:type or name:type? with a type of ${PARAM_TYPES.join(', ')}, e.g. limit:number?`)
  }
  return { name: match[1], type: match[2] as Param['type'], optional: Boolean(match[3]) }
}

function toolCode(options: ToolGeneratorOptions, params: Param[], indent: string, unit: string, eol: string): string {
  const inner = indent + unit
  const lines = [`defineTool(${quote(options.tool)}, {`, `${unit}description: ${quote(options.description ?? `TODO: describe ${options.tool}`)},`]
  if (params.length) {
    lines.push(`${unit}params: {`)
    for (const p of params) lines.push(`${unit}${unit}${p.name}: { type: ${quote(p.type)}${p.optional ? ', optional: true' : ''} },`)
    lines.push(`${unit}},`)
  }
  if (options.ui) lines.push(`${unit}ui: { file: new URL(${quote(`../src/${options.tool}.html`)}, import.meta.url), appSdk: true },`)
  const names = params.map((p) => p.name)
  const args = names.length ? `{ ${names.join(', ')} }` : '_args'
  const body = `${unit}${unit}`
  if (options.task) {
    lines.push(
      `${unit}task: 'optional',`,
      `${unit}handler: async (${args}, ctx) => {`,
      `${body}// Runs as a task for clients that negotiate tasks (they poll it, or hear of it, and may cancel it).`,
      `${body}const steps = 5;`,
      `${body}for (let step = 0; step < steps; step++) {`,
      `${body}${unit}ctx.signal.throwIfAborted();`,
      `${body}${unit}await ctx.progress(step, steps, \`step \${step + 1} of \${steps}\`);`,
      `${body}${unit}// TODO: replace this placeholder with one step of the real work.`,
      `${body}${unit}await new Promise((resolve) => setTimeout(resolve, 1000));`,
      `${body}}`,
    )
  } else {
    lines.push(`${unit}handler: async (${names.length ? args : ''}) => {`, `${body}// TODO: replace this placeholder with the real implementation.`)
  }
  lines.push(`${body}return { todo: ${quote(`implement ${options.tool}`)}${names.length ? `, ${names.join(', ')}` : ''} };`, `${unit}},`, '}),')
  return lines.map((line, i) => (i === 0 ? line : inner.slice(unit.length) + line)).join(eol)
}

/** Adds `defineTool` to the named imports from 'airmcp' when it is missing; returns the edit or undefined. */
function importEdit(morph: Morph, file: SourceFile, eol: string): { at: number; text: string } | undefined {
  const declaration = file.getImportDeclarations().find((d) => d.getModuleSpecifierValue() === 'airmcp')
  if (!declaration) return { at: 0, text: `import { defineTool } from 'airmcp';${eol}` }
  const named = declaration.getNamedImports()
  if (named.some((n) => n.getName() === 'defineTool')) return undefined
  const last = named.at(-1)
  if (!last) throw new AirmcpError('UNSUPPORTED_IMPORT', "The import from 'airmcp' has no named imports to extend.", "add: import { defineTool } from 'airmcp'")
  return { at: last.getEnd(), text: ', defineTool' }
}

/** The `tools: [...]` array literal of the file's `defineServer({...})`, or an error naming what is missing. */
function findToolsArray(morph: Morph, file: SourceFile, path: string) {
  const { Node: N, SyntaxKind } = morph
  const call = file.getDescendantsOfKind(SyntaxKind.CallExpression).find((c) => c.getExpression().getText() === 'defineServer')
  const config = call?.getArguments()[0]
  if (!config || !N.isObjectLiteralExpression(config)) {
    throw new AirmcpError('NO_DEFINE_SERVER', `"${path}" has no defineServer({ ... }) call.`, 'add the tool by hand, or restore defineServer({ ... }).')
  }
  const property = config.getProperty('tools')
  const tools = property && N.isPropertyAssignment(property) ? property.getInitializer() : undefined
  if (!property || !tools || !N.isArrayLiteralExpression(tools)) {
    throw new AirmcpError(
      'TOOLS_NOT_ARRAY',
      `The tools of "${path}" are not an array literal (tools: [ ... ]), so airmcp cannot add to them safely. Nothing was written.`,
      'add the defineTool(...) by hand, or write tools: [ ... ] in defineServer.',
    )
  }
  return { property, tools }
}

/** True when the array already has `defineTool('<name>', ...)`. */
function hasTool(morph: Morph, tools: ArrayLiteralExpression, name: string): boolean {
  const { Node: N } = morph
  return tools.getElements().some((element) => {
    if (!N.isCallExpression(element) || element.getExpression().getText() !== 'defineTool') return false
    const first = element.getArguments()[0]
    return first !== undefined && N.isStringLiteral(first) && first.getLiteralValue() === name
  })
}

/** The text with `code` appended as the array's last element, in the indentation of its siblings. */
function appendElement(text: string, property: Node, tools: ArrayLiteralExpression, options: ToolGeneratorOptions, params: Param[], eol: string): string {
  const propertyIndent = /[ \t]*$/.exec(text.slice(0, property.getStart()))![0]
  const elements = tools.getElements()
  const unit = propertyIndent || '  '
  const indent = elements.length ? /[ \t]*$/.exec(text.slice(0, elements[0].getStart()))![0] : propertyIndent + unit
  const code = toolCode(options, params, indent, unit, eol)
  if (!elements.length) {
    const open = tools.getStart() + 1
    return `${text.slice(0, open)}${eol}${indent}${code}${eol}${propertyIndent}${text.slice(tools.getEnd() - 1)}`
  }
  const last = elements.at(-1)!
  const after = text.slice(last.getEnd())
  const comma = after.trimStart().startsWith(',') ? '' : ','
  const insertAt = comma ? last.getEnd() : last.getEnd() + after.indexOf(',') + 1
  return `${text.slice(0, insertAt)}${comma}${eol}${indent}${code.replace(/,$/, comma ? '' : ',')}${text.slice(insertAt)}`
}

/** Plans a `defineTool(...)` appended to a server's `tools: [...]`, idempotently (an existing name is left alone). */
export async function toolGenerator(tree: Tree, options: ToolGeneratorOptions): Promise<ToolGeneratorResult> {
  validateServerName(options.server)
  validateToolName(options.tool)
  const params = (options.params ?? []).map(parseParam)
  const path = `servers/${options.server}/src/index.ts`
  const text = tree.read(path)
  if (text === undefined) {
    throw new AirmcpError('NO_SERVER', `Server "${options.server}" does not exist ("${path}" is missing).`, `create it first: airmcp add server ${options.server}`)
  }
  const morph = await loadMorph()
  const file = new morph.Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true }).createSourceFile(path, text)
  const { property, tools } = findToolsArray(morph, file, path)
  if (hasTool(morph, tools, options.tool)) return { file: path, added: false }
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  let next = appendElement(text, property, tools, options, params, eol)
  const edit = importEdit(morph, file, eol)
  if (edit) next = next.slice(0, edit.at) + edit.text + next.slice(edit.at)
  tree.write(path, next)
  if (options.ui) {
    const page = await readFile(join(TEMPLATES_DIR, 'tool-app.html'), 'utf8')
    tree.create(`servers/${options.server}/src/${options.tool}.html`, page.replaceAll('__tool__', options.tool))
  }
  return { file: path, added: true }
}
