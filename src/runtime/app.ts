import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { McpUiResourceMeta, McpUiToolMeta } from '@modelcontextprotocol/ext-apps'
import { registerAppResource, registerAppTool, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server'
import type { ResourceDefinition } from './resource.js'
import type { ToolDefinition } from './tool.js'

/**
 * An MCP App (`io.modelcontextprotocol/ui`) on a tool: HTML the host renders in a sandboxed iframe when the
 * tool is called, which can call the server's tools back through the host.
 * @example
 * defineTool('dashboard', { ui: { file: 'dist/dashboard.html', csp: { connectDomains: ['https://api.example.com'] } }, handler })
 */
export interface ToolUi {
  /** The app's HTML, or a function that makes it on each read. */
  html?: string | (() => string | Promise<string>)
  /** A file holding the app's HTML, read on each read: a path (from the working directory) or a file URL, e.g. `new URL('./app.html', import.meta.url)`. */
  file?: string | URL
  /** The `ui://` URI it is served under (default `ui://<tool name>/app.html`). */
  uri?: string
  /** Origins the app may reach (fetch, images, scripts…); none by default. */
  csp?: McpUiResourceMeta['csp']
  /** Sandbox permissions the app asks for (camera, microphone…). */
  permissions?: McpUiResourceMeta['permissions']
  /** A dedicated origin for the app's sandbox (the host decides its form). */
  domain?: string
  /** Whether the host should draw a border around the app. */
  prefersBorder?: boolean
  /** Who may call the tool: `['model', 'app']` (default), or `['app']` for a tool only its app calls. */
  visibility?: McpUiToolMeta['visibility']
  /**
   * Puts ext-apps' browser SDK in the page, its exports as `globalThis.McpApps` (`const { App } = McpApps`
   * in the page's own `<script type="module">`): an app in plain HTML and JavaScript, no bundler.
   */
  appSdk?: boolean
}

const UI_KEYS = new Set(['html', 'file', 'uri', 'csp', 'permissions', 'domain', 'prefersBorder', 'visibility', 'appSdk'])
const VISIBILITY = new Set(['model', 'app'])

/** A tool's `ui` option, checked: a tool without HTML names an app no one serves, so it must say where it lives. */
function uiOf(tool: ToolDefinition): ToolUi | undefined {
  const ui = tool.meta.ui as ToolUi | undefined
  if (ui === undefined) return undefined
  const where = `Tool "${tool.name}": ui`
  if (typeof ui !== 'object' || ui === null) throw new TypeError(`${where} must be an object. Try this: ui: { file: 'app.html' }.`)
  const unknown = Object.keys(ui).find((key) => !UI_KEYS.has(key))
  if (unknown) throw new TypeError(`${where} has an unknown key "${unknown}". Try this: use ${[...UI_KEYS].join(', ')}.`)
  const sources = [ui.html, ui.file].filter((source) => source !== undefined).length
  if (sources > 1) throw new TypeError(`${where} has both html and file. Try this: keep one.`)
  if (!sources && !ui.visibility?.length) throw new TypeError(`${where} needs html or file. Try this: ui: { file: 'app.html' }.`)
  if (ui.uri !== undefined && (typeof ui.uri !== 'string' || !ui.uri.startsWith('ui://'))) {
    throw new TypeError(`${where}.uri must start with ui://. Try this: uri: 'ui://${tool.name}/app.html'.`)
  }
  if (ui.visibility !== undefined && (!Array.isArray(ui.visibility) || !ui.visibility.every((v) => VISIBILITY.has(v)))) {
    throw new TypeError(`${where}.visibility must list "model" and/or "app". Try this: visibility: ['app'].`)
  }
  return ui
}

let sdkScript: Promise<string> | undefined

/** ext-apps' self-contained browser bundle as an inline module script whose exports become `globalThis.McpApps`. */
function appSdkScript(): Promise<string> {
  sdkScript ??= readFile(fileURLToPath(import.meta.resolve('@modelcontextprotocol/ext-apps/app-with-deps')), 'utf8').then((source) => {
    const exported = /export\s*\{([^}]*)\};?\s*$/.exec(source)
    if (!exported) throw new Error('The ext-apps bundle has no export list to expose.')
    const names = exported[1]!.split(',').map((entry) => {
      const [local, as = local] = entry.trim().split(/\s+as\s+/)
      return `${JSON.stringify(as)}:${local}`
    })
    return `<script type="module">${source.slice(0, exported.index)}globalThis.McpApps={${names.join(',')}};</script>`
  })
  return sdkScript
}

/** The page with the SDK script first in its head (module scripts run in document order, so the page's own see it). */
async function withAppSdk(html: string): Promise<string> {
  const script = await appSdkScript()
  const head = /<head[^>]*>/i.exec(html)
  return head ? html.slice(0, head.index + head[0].length) + script + html.slice(head.index + head[0].length) : script + html
}

/** Whether a tool serves an app (an app-only tool with no HTML serves none; its app lives on another tool). */
const servesApp = (ui: ToolUi) => ui.html !== undefined || ui.file !== undefined

const appUri = (tool: ToolDefinition, ui: ToolUi) => ui.uri ?? `ui://${tool.name}/app.html`

/**
 * The `_meta` a tool is listed with: `ui.resourceUri`/`visibility`, and the older `ui/resourceUri` key,
 * as ext-apps' `registerAppTool` writes them (undefined for a tool without an app).
 */
export function appToolMeta(tool: ToolDefinition): Record<string, unknown> | undefined {
  const ui = uiOf(tool)
  if (!ui) return undefined
  const meta: McpUiToolMeta = {
    ...(servesApp(ui) ? { resourceUri: appUri(tool, ui) } : {}),
    ...(ui.visibility ? { visibility: ui.visibility } : {}),
  }
  // registerAppTool is given a registry that keeps what it would register: its _meta is the extension's.
  let registered: Record<string, unknown> | undefined
  const keep = { registerTool: (_name: string, config: { _meta?: Record<string, unknown> }) => ((registered = config._meta), undefined) }
  registerAppTool(keep as never, tool.name, { _meta: { ui: meta } }, () => ({ content: [] }))
  return registered
}

/** The `ui://` resources serving the apps of `tools`, with the extension's MIME type and `_meta.ui`. */
export function appResources(tools: Iterable<ToolDefinition>): ResourceDefinition[] {
  const resources: ResourceDefinition[] = []
  for (const tool of tools) {
    const ui = uiOf(tool)
    if (!ui || !servesApp(ui)) continue
    const uri = appUri(tool, ui)
    const resourceMeta: McpUiResourceMeta = {
      ...(ui.csp ? { csp: ui.csp } : {}),
      ...(ui.permissions ? { permissions: ui.permissions } : {}),
      ...(ui.domain !== undefined ? { domain: ui.domain } : {}),
      ...(ui.prefersBorder !== undefined ? { prefersBorder: ui.prefersBorder } : {}),
    }
    const page = async () => (ui.file !== undefined ? readFile(ui.file, 'utf8') : typeof ui.html === 'function' ? ui.html() : ui.html!)
    const html = async () => (ui.appSdk ? withAppSdk(await page()) : page())
    const read = async (href: string) => ({
      contents: [{ uri: href, mimeType: RESOURCE_MIME_TYPE, text: await html(), ...(Object.keys(resourceMeta).length ? { _meta: { ui: resourceMeta } } : {}) }],
    })
    // registerAppResource is given a registry that keeps what it would register: the MIME type is the extension's.
    let mimeType: string | undefined
    const keep = { registerResource: (_name: string, _uri: string, config: { mimeType?: string }) => ((mimeType = config.mimeType), undefined) }
    registerAppResource(keep as never, `${tool.name} app`, uri, {}, () => ({ contents: [] }))
    resources.push({
      kind: 'resource',
      uri,
      isTemplate: false,
      name: `${tool.name} app`,
      description: tool.title ?? tool.description,
      mimeType,
      handler: (href) => read(href),
    })
  }
  return resources
}
