// Tool search: the discovery tools a client may be offered instead of the full list, ranked by BM25 or (opt-in) by meaning.
export { DISCOVERY_TOOL_NAMES, DISCOVERY_TOOLS, discoveryArguments, ToolCatalog, type ToolDefinition } from './discovery.js'
