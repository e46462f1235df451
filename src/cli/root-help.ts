import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * `airmcp --help` without starting oclif, whose module graph costs more than Node's own start. At build time
 * oclif renders the root help once, unwrapped, and `readRootHelp` keeps its parts (dist/cli/root-help.json); at
 * run time `renderRootHelp` lays them out as oclif's help formatter does for the terminal's width (a test holds
 * the two equal across widths). Whatever this layout does not cover (a word wider than its column, an entry
 * oclif would switch to its multi-line form, a theme) is left to oclif.
 */
export interface RootHelpModel {
  summary: string
  /** `airmcp/0.1.0`: oclif adds the platform and Node version. */
  version: string
  usage: string
  sections: { header: string; rows: [string, string][] }[]
}

const MODEL_FILE = new URL('./root-help.json', import.meta.url)

/** The parts of oclif's root help as it printed it with no width limit. */
export function readRootHelp(text: string): RootHelpModel {
  const [summary, ...blocks] = text.trimEnd().split('\n\n')
  const model: RootHelpModel = { summary, version: '', usage: '', sections: [] }
  for (const block of blocks) {
    const [header, ...lines] = block.split('\n')
    if (header === 'VERSION') model.version = lines[0].trim().split(' ')[0]
    else if (header === 'USAGE') model.usage = lines[0].trim()
    else {
      const rows = lines.map((line) => /^ {2}(\S+) {2,}(.*)$/.exec(line)?.slice(1, 3) as [string, string] | undefined)
      if (rows.some((row) => !row)) throw new Error(`The root help's ${header} section is not a two-column list: ${block}`)
      model.sections.push({ header, rows: rows as [string, string][] })
    }
  }
  return model
}

/** The root help at `width` columns, or undefined where only oclif can lay it out. */
export function renderRootHelp(model: RootHelpModel, width: number, bold: (text: string) => string = (text) => text): string | undefined {
  const section = (header: string, body: string[]) => [bold(header), ...body.map((line) => (line ? `  ${line}` : line))].join('\n')
  const blocks = [
    model.summary,
    section('VERSION', [`${model.version} ${process.platform}-${process.arch} node-${process.version}`]),
    section('USAGE', [model.usage]),
  ]
  for (const { header, rows } of model.sections) {
    const nameWidth = Math.max(...rows.map(([name]) => name.length))
    const lines: string[] = []
    for (const [name, text] of rows) {
      const wrapped = wrapWords(text, width - (2 + nameWidth + 2))
      // oclif switches to another layout past four continuation lines; so does a word wider than the column.
      if (!wrapped || wrapped.length > 5) return undefined
      lines.push(`${name.padEnd(nameWidth)}  ${wrapped[0]}`, ...wrapped.slice(1).map((line) => `${' '.repeat(nameWidth + 2)}${line}`))
    }
    blocks.push(section(header, lines))
  }
  // VERSION and USAGE are wrapped inside their two-space indent: left to oclif when they would be.
  if (Math.max(model.usage.length, blocks[1].length - bold('VERSION').length - 3) > width - 2) return undefined
  return `${blocks.join('\n\n')}\n\n`
}

/** Greedy word wrap, as wrap-ansi does it for plain text; undefined when a word does not fit at all. */
function wrapWords(text: string, columns: number): string[] | undefined {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (word.length > columns) return undefined
    if (line && line.length + 1 + word.length > columns) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, line]
}

/**
 * Prints the root help for `airmcp` and `airmcp --help` and returns true; false for anything else (and when it
 * cannot print exactly what oclif would), so the caller runs oclif.
 */
export function printRootHelp(argv: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (argv.length > 1 || (argv.length === 1 && argv[0] !== '--help')) return false
  // A theme changes oclif's colours: only oclif knows them.
  const configDir = env.AIRMCP_CONFIG_DIR ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'airmcp')
  if (!existsSync(MODEL_FILE) || existsSync(join(configDir, 'theme.json'))) return false
  const model = JSON.parse(readFileSync(MODEL_FILE, 'utf8')) as RootHelpModel
  const text = renderRootHelp(model, terminalWidth(env), headerStyle())
  if (text === undefined) return false
  process.stdout.write(text)
  return true
}

/** The width oclif's help uses (its screen.js): OCLIF_COLUMNS, else the terminal's (40 at least), else 80. */
function terminalWidth(env: NodeJS.ProcessEnv): number {
  const columns = Number.parseInt(env.OCLIF_COLUMNS ?? '', 10)
  if (columns) return columns
  if (!process.stdout.isTTY) return 80
  const width = process.stdout.getWindowSize()[0]
  return width < 1 ? 80 : Math.max(width, 40)
}

/** oclif's section headers are bold when its colour library (ansis, resolved as oclif resolves it) says colour is on. */
function headerStyle(): (text: string) => string {
  const require = createRequire(import.meta.url)
  const ansis = createRequire(require.resolve('@oclif/core'))('ansis') as { isSupported(): boolean; bold: (text: string) => string }
  return ansis.isSupported() ? (text) => ansis.bold(text) : (text) => text
}
