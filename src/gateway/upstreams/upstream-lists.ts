// What an upstream member serves (tools, resources, templates, prompts): read within the list limits, refetched on list_changed, with each list's cache hints.
import type { Client, Prompt, Resource, ResourceTemplateType as ResourceTemplate, Tool } from '@modelcontextprotocol/client'
import { messageOf, redact } from '../errors.js'
import { LIMIT_DEFAULTS } from '../security/index.js'
import { readList, type ListKey, type ListLimits, type ListPageRequest } from './list-intake.js'

/** Cache hints of a list result (2026-07-28): how long and for whom it may be reused. */
export interface CacheHint {
  ttlMs?: number
  cacheScope?: 'public' | 'private'
}

/** The lists of one member (the base of Upstream, upstream.ts); the connection they are read on is the member's. */
export abstract class UpstreamLists {
  tools: Tool[] = []
  resources: Resource[] = []
  resourceTemplates: ResourceTemplate[] = []
  prompts: Prompt[] = []
  /** Cache hints of the last list results, per kind (modern upstreams send them). */
  readonly cacheHints = new Map<'tools' | 'resources' | 'resourceTemplates' | 'prompts', CacheHint>()
  /** The list_changed refetch running per kind, and whether another was asked for meanwhile. */
  private readonly refetching = new Map<'tools' | 'resources' | 'prompts', { again: boolean }>()
  abstract client: Client | undefined
  /** The 2025 session beside a 2026 connection, where a 2025 client's task calls go (upstream.ts). */
  abstract sessionClient: Client | undefined
  abstract lastError: string | undefined
  abstract readonly id: string
  abstract readonly secrets: string[]
  protected abstract readonly timing: { connectTimeout: number; lists?: ListLimits }
  /** Tells the gateway a list of this member changed (UpstreamEvents.listChanged). */
  protected abstract announceListChanged(kind: 'tools' | 'resources' | 'prompts'): void

  /**
   * A list_changed: one refetch of that kind at a time, and a burst of them while it runs makes one more
   * after it (the last one sees the newest list), so a server re-announcing costs at most two listings.
   */
  protected refetch(kind: 'tools' | 'resources' | 'prompts'): void {
    const running = this.refetching.get(kind)
    if (running) {
      running.again = true
      return
    }
    const state = { again: true }
    this.refetching.set(kind, state)
    void (async () => {
      // A refresh that fails leaves the last lists in place; the health check deals with a dead server.
      while (state.again) {
        state.again = false
        await this.refresh(kind).catch((error) => (this.lastError = redact(`refreshing ${kind} failed: ${messageOf(error)}`, this.secrets)))
      }
      this.refetching.delete(kind)
    })()
  }

  /**
   * Re-reads what the server offers (all of it, or one kind after a list_changed), within the list limits
   * and one `connectTimeout` for all the pages (list-intake.ts).
   */
  async refresh(kind?: 'tools' | 'resources' | 'prompts'): Promise<void> {
    const client = this.client
    if (!client) return
    const caps = client.getServerCapabilities() ?? {}
    const deadline = Date.now() + this.timing.connectTimeout
    const pages = async (method: string, key: ListKey) => {
      const request: ListPageRequest = (cursor, timeout) =>
        client.request({ method, params: cursor ? { cursor } : {} } as never, PassThrough, { timeout }) as Promise<Record<string, unknown>>
      const read = await readList(this.id, method, key, request, this.timing.lists ?? LIMIT_DEFAULTS, deadline)
      this.cacheHints.set(key, mergeCacheHints(read.hints))
      return read.items
    }
    if ((!kind || kind === 'tools') && caps.tools) this.tools = await this.withTaskSupport((await pages('tools/list', 'tools')) as Tool[])
    if ((!kind || kind === 'resources') && caps.resources) {
      this.resources = (await pages('resources/list', 'resources')) as Resource[]
      this.resourceTemplates = (await pages('resources/templates/list', 'resourceTemplates')) as ResourceTemplate[]
    }
    if ((!kind || kind === 'prompts') && caps.prompts) this.prompts = (await pages('prompts/list', 'prompts')) as Prompt[]
    if (kind) this.announceListChanged(kind)
  }

  /**
   * A 2026 listing says nothing of task support (the server decides per call); a 2025 one does
   * (`execution.taskSupport`). A 2026 member that runs 2025 tasks on the session beside its connection,
   * where a 2025 client's task calls go, is asked there, and its tools carry what it said for 2025 clients
   * (a 2026 client's listing leaves `execution` out). Best effort: without an answer the tools stay as listed.
   */
  protected async withTaskSupport(tools: Tool[]): Promise<Tool[]> {
    const session = this.sessionClient
    const tasks = session?.getServerCapabilities()?.tasks as { requests?: { tools?: { call?: unknown } } } | undefined
    if (!session || !tasks?.requests?.tools?.call) return tools
    try {
      const listed = (await session.request({ method: 'tools/list', params: {} } as never, PassThrough, { timeout: this.timing.connectTimeout })) as { tools?: Tool[] }
      const support = new Map<string, TaskExecution>()
      for (const tool of listed.tools ?? []) {
        const execution = tool.execution as TaskExecution | undefined
        if (execution?.taskSupport && execution.taskSupport !== 'forbidden') support.set(tool.name, execution)
      }
      return support.size ? tools.map((tool) => (support.has(tool.name) ? { ...tool, execution: support.get(tool.name) } : tool)) as Tool[] : tools
    } catch {
      return tools
    }
  }
}

/** A task-supporting tool's `execution` in a 2025 listing (`forbidden`, or none, for the others). */
type TaskExecution = { taskSupport?: string }
/** Forwarded results are passed on as the server sent them: the client that asked validates them. */
export const PassThrough = {
  '~standard': {
    version: 1 as const,
    vendor: 'airmcp',
    validate: (value: unknown) =>
      value !== null && typeof value === 'object'
        ? { value: value as Record<string, unknown> }
        : { issues: [{ message: 'Expected a result object' }] },
  },
}

/**
 * Conservative merge of cache hints: the smallest `ttlMs` (absent or negative counts as 0, as the spec
 * says a client should read it), and `private` if any part is private or says nothing.
 */
export function mergeCacheHints(hints: CacheHint[]): Required<CacheHint> {
  let ttlMs = Infinity
  let cacheScope: 'public' | 'private' = 'public'
  for (const hint of hints) {
    ttlMs = Math.min(ttlMs, typeof hint.ttlMs === 'number' && hint.ttlMs > 0 ? Math.floor(hint.ttlMs) : 0)
    if (hint.cacheScope !== 'public') cacheScope = 'private'
  }
  return { ttlMs: ttlMs === Infinity ? 0 : ttlMs, cacheScope }
}
