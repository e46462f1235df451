import { Bm25Index, type Field } from './bm25.js'
import { SemanticIndex } from './semantic.js'

/** The part of a tool definition discovery reads. */
export interface ToolDefinition {
  name: string
  title?: string
  description?: string
  inputSchema?: { properties?: Record<string, { description?: string; title?: string } | boolean> }
  annotations?: { title?: string }
  [key: string]: unknown
}

export const SEARCH_TOOLS = 'search_tools'
export const DESCRIBE_TOOLS = 'describe_tools'
export const CALL_TOOL = 'call_tool'
export const DISCOVERY_TOOL_NAMES = [SEARCH_TOOLS, DESCRIBE_TOOLS, CALL_TOOL]

const DEFAULT_LIMIT = 5
const MAX_LIMIT = 50
const SNIPPET = 300

/** The three tools a client in `discovery: 'search'` mode sees instead of the full list. */
export const DISCOVERY_TOOLS = [
  {
    name: SEARCH_TOOLS,
    description:
      'Search the tools available through this gateway by what you want to do. Returns the best matching tool names ' +
      'with a short description and their parameter names, best first. Then use describe_tools for full schemas and ' +
      'call_tool (or the tool name directly) to run one.',
    inputSchema: {
      type: 'object' as const,
      properties: {
        query: { type: 'string', description: 'What you want to do, in plain words, e.g. "create a github issue"' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, description: `How many tools to return (default ${DEFAULT_LIMIT})` },
      },
      required: ['query'],
    },
    annotations: { readOnlyHint: true },
  },
  {
    name: DESCRIBE_TOOLS,
    description: 'Full definitions (description and input schema) of the named tools, as found with search_tools.',
    inputSchema: {
      type: 'object' as const,
      properties: { names: { type: 'array', items: { type: 'string' }, description: 'Tool names from search_tools' } },
      required: ['names'],
    },
    annotations: { readOnlyHint: true },
  },
  {
    name: CALL_TOOL,
    description: 'Runs a tool found with search_tools: its name and its arguments as described by describe_tools.',
    inputSchema: {
      type: 'object' as const,
      properties: {
        name: { type: 'string', description: 'The tool name' },
        arguments: { type: 'object', description: "The tool's arguments", additionalProperties: true },
      },
      required: ['name'],
    },
  },
]

/**
 * A description's first sentence (or paragraph) and the rest: the first says what the tool does, the rest is
 * mostly how to use it (warnings, formats, when to prefer another tool), words that name other things.
 */
export function leadSentence(description: string): [lead: string, rest: string] {
  const text = description.trim()
  const end = text.search(/[.!?](\s|$)|\n\s*\n/)
  return end < 0 ? [text, ''] : [text.slice(0, end + 1), text.slice(end + 1)]
}

/**
 * The weighted fields of one tool: its name counts most, then what it says it does, then its parameters'
 * names; the rest of its description weighs as little as its parameters' descriptions, so a long manual
 * does not outweigh what a tool is.
 */
export function toolFields(tool: ToolDefinition): Field[] {
  const properties = Object.entries(tool.inputSchema?.properties ?? {})
  const paramText = (pick: (p: { description?: string; title?: string }) => string | undefined) =>
    properties.map(([, p]) => (typeof p === 'object' && p ? (pick(p) ?? '') : '')).join(' ')
  const [lead, rest] = leadSentence(tool.description ?? '')
  return [
    { text: tool.name, weight: 3 },
    { text: `${tool.title ?? ''} ${tool.annotations?.title ?? ''}`, weight: 2 },
    { text: lead, weight: 1 },
    { text: rest, weight: 0.4 },
    { text: properties.map(([name]) => name).join(' '), weight: 0.7 },
    { text: `${paramText((p) => p.title)} ${paramText((p) => p.description)}`, weight: 0.4 },
  ]
}

/** What a tool says it is, as a sentence for the embedding model: its name in words and its first sentence. */
export function toolSentence(tool: ToolDefinition): string {
  const name = tool.name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .toLowerCase()
  return `${name}: ${leadSentence(tool.description ?? '')[0]}`
}

/**
 * How much the words' ranking counts against the meaning's (the rest). Chosen on the original query set
 * (0.2 to 0.4 scored alike there; 0.3 is the middle) and never on the held-out one.
 */
const WORDS_WEIGHT = 0.3

/**
 * One relevance per tool from both rankings, each brought to 0..1 over the tools the client may see: BM25F
 * divided by its best score, cosine similarity stretched from its lowest to its highest. Without the model,
 * the words' ranking alone, and a tool that shares no word with the query is left out.
 */
function blend(words: { id: string; score: number }[], meaning: Map<string, number> | undefined, allowed: (name: string) => boolean) {
  if (!meaning) return words
  const visible = [...meaning].filter(([id]) => allowed(id))
  const similarities = visible.map(([, similarity]) => similarity)
  const [low, high] = [Math.min(...similarities), Math.max(...similarities)]
  const best = words[0]?.score ?? 1
  const wordScores = new Map(words.map(({ id, score }) => [id, score / best]))
  return visible
    .map(([id, similarity]) => ({
      id,
      score: WORDS_WEIGHT * (wordScores.get(id) ?? 0) + (1 - WORDS_WEIGHT) * (high > low ? (similarity - low) / (high - low) : 0),
    }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
}

/** One search hit as `search_tools` returns it. */
export interface SearchHit {
  name: string
  description: string
  parameters: string[]
  score: number
}

function snippet(text: string | undefined): string {
  const value = (text ?? '').trim()
  return value.length > SNIPPET ? `${value.slice(0, SNIPPET - 1)}…` : value
}

/**
 * A searchable catalog of the exposed tools, rebuilt only when the gateway's tool list changes. Ranks by
 * words (BM25F) and, with `byMeaning`, by meaning too (sentence embeddings, computed on the first search;
 * `previous`, the catalog's last revision, lends the embeddings of tools that did not change). Meaning is
 * opt-in: the model costs about 200 MB and a few seconds per few hundred tools for a modest gain in recall.
 */
export class ToolCatalog {
  private index: Bm25Index
  private readonly semantic: SemanticIndex | undefined
  private readonly byName: Map<string, ToolDefinition>

  constructor(tools: ToolDefinition[], options: { byMeaning?: boolean; previous?: ToolCatalog } = {}) {
    this.byName = new Map(tools.map((t) => [t.name, t]))
    this.index = new Bm25Index(tools.map((tool) => ({ id: tool.name, fields: toolFields(tool) })))
    this.semantic = options.byMeaning
      ? new SemanticIndex(
          tools.map((tool) => ({ id: tool.name, text: toolSentence(tool) })),
          options.previous?.semantic,
        )
      : undefined
  }

  get size(): number {
    return this.index.size
  }

  /** The tools best matching a query among those `allowed`, best first. */
  async search(query: string, allowed: (name: string) => boolean, limit = DEFAULT_LIMIT): Promise<SearchHit[]> {
    return blend(this.index.search(query, allowed), await this.semantic?.similarities(query), allowed)
      .slice(0, Math.min(Math.max(1, Math.floor(limit)), MAX_LIMIT))
      .map(({ id, score }) => {
        const tool = this.byName.get(id)!
        return {
          name: id,
          description: snippet(tool.description),
          parameters: Object.keys(tool.inputSchema?.properties ?? {}),
          score: Math.round(score * 1000) / 1000,
        }
      })
  }

  /** Full definitions of the named tools a client may see; other names are reported as unknown. */
  describe(names: string[], allowed: (name: string) => boolean): { tools: ToolDefinition[]; unknown: string[] } {
    const tools: ToolDefinition[] = []
    const unknown: string[] = []
    for (const name of new Set(names)) {
      const tool = this.byName.get(name)
      if (tool && allowed(name)) tools.push(tool)
      else unknown.push(name)
    }
    return { tools, unknown }
  }
}

export type DiscoveryCall =
  | { kind: 'search'; query: string; limit: number }
  | { kind: 'describe'; names: string[] }
  | { kind: 'call'; name: string; arguments: Record<string, unknown> | undefined }
  | { kind: 'error'; error: string }

/** Reads the arguments of a discovery tool call, with a clear message for the model when they are wrong. */
export function discoveryArguments(name: string, args: Record<string, unknown> | undefined): DiscoveryCall {
  const error = (message: string): DiscoveryCall => ({ kind: 'error', error: message })
  const value = args ?? {}
  if (name === SEARCH_TOOLS) {
    if (typeof value.query !== 'string' || !value.query.trim()) return error('search_tools needs a "query" string, e.g. { "query": "create an issue" }.')
    if (value.limit !== undefined && (typeof value.limit !== 'number' || !(value.limit >= 1))) return error(`"limit" must be a number from 1 to ${MAX_LIMIT}.`)
    return { kind: 'search', query: value.query, limit: (value.limit as number | undefined) ?? DEFAULT_LIMIT }
  }
  if (name === DESCRIBE_TOOLS) {
    if (!Array.isArray(value.names) || value.names.some((n) => typeof n !== 'string')) {
      return error('describe_tools needs "names", a list of tool names from search_tools.')
    }
    return { kind: 'describe', names: value.names as string[] }
  }
  if (typeof value.name !== 'string' || !value.name) return error('call_tool needs the "name" of the tool to run.')
  if (value.arguments !== undefined && (typeof value.arguments !== 'object' || value.arguments === null || Array.isArray(value.arguments))) {
    return error('call_tool "arguments" must be an object.')
  }
  return { kind: 'call', name: value.name, arguments: value.arguments as Record<string, unknown> | undefined }
}
