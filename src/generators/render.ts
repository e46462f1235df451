import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package's `templates/` folder. */
export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates', import.meta.url))

type Vars = Record<string, unknown>

function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
}

export const kebabCase = (text: string) => words(text).map((w) => w.toLowerCase()).join('-')
export const camelCase = (text: string) =>
  words(text)
    .map((w, i) => (i ? w[0].toUpperCase() + w.slice(1).toLowerCase() : w.toLowerCase()))
    .join('')
export const pascalCase = (text: string) => camelCase(text).replace(/^./, (c) => c.toUpperCase())
export const snakeCase = (text: string) => words(text).map((w) => w.toLowerCase()).join('_')

/** A TypeScript string literal in single quotes, safe for any text. */
export function quote(text: unknown): string {
  const body = String(text)
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
  return `'${body}'`
}

let handlebars: typeof import('handlebars') | undefined

/** Handlebars, loaded on first use so `--help` never pays for it. */
async function loadHandlebars() {
  if (!handlebars) {
    // require, not import(): see loadMorph (src/workspace/literals.ts).
    const hb = (createRequire(import.meta.url)('handlebars') as typeof import('handlebars')).create()
    hb.registerHelper('kebab', (t: string) => kebabCase(t))
    hb.registerHelper('camel', (t: string) => camelCase(t))
    hb.registerHelper('pascal', (t: string) => pascalCase(t))
    hb.registerHelper('snake', (t: string) => snakeCase(t))
    hb.registerHelper('quote', (t: unknown) => quote(t))
    hb.registerHelper('json', (v: unknown) => JSON.stringify(v))
    hb.registerHelper('eq', (a: unknown, b: unknown) => a === b)
    handlebars = hb as unknown as typeof import('handlebars')
  }
  return handlebars
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort()
}

/** Output path of a template file: `__var__` substituted, `.hbs` stripped, `_gitignore` → `.gitignore`. */
export function outputPath(templatePath: string, vars: Vars): string {
  return templatePath
    .replace(/__([a-zA-Z]+)__/g, (_, key: string) => {
      if (vars[key] === undefined) throw new Error(`Template path "${templatePath}" needs "${key}".`)
      return String(vars[key])
    })
    .replace(/\.hbs$/, '')
    .split('/')
    .map((part) => (part.startsWith('_') && !part.startsWith('__') ? `.${part.slice(1)}` : part))
    .join('/')
}

/** Renders every file of `templates/<folder>` with strict, unescaped handlebars: path → content. */
export async function renderTemplates(folder: string, vars: Vars): Promise<Map<string, string>> {
  const hb = await loadHandlebars()
  const dir = join(TEMPLATES_DIR, folder)
  const out = new Map<string, string>()
  for (const file of listFiles(dir)) {
    const text = readFileSync(join(dir, file), 'utf8')
    const content = file.endsWith('.hbs') ? hb.compile(text, { strict: true, noEscape: true })(vars) : text
    out.set(outputPath(file, vars), content)
  }
  return out
}

/** Renders one template file. */
export async function renderTemplate(file: string, vars: Vars): Promise<string> {
  const hb = await loadHandlebars()
  return hb.compile(readFileSync(join(TEMPLATES_DIR, file), 'utf8'), { strict: true, noEscape: true })(vars)
}
