import type { ToolSpec } from '../../spec/schema.js'

/** The seed's three servers and an MCP App server: their spec (for ports, tests and listings) and their whole-file source. */
export const PRESETS: Record<string, ToolSpec> = {
  search: {
    name: 'search-server',
    version: '1.0.0',
    transport: { type: 'sse', port: 3510 },
    plugins: [{ cache: { ttlMs: 30_000, exclude: ['search_reindex'] } }],
    tools: [
      {
        name: 'search',
        description: 'Full-text search across titles and body',
        params: {
          query: { type: 'string', description: 'Search query' },
          limit: { type: 'number', description: 'Max results', optional: true },
        },
      },
      { name: 'search_reindex', description: 'Rebuild the search index' },
    ],
  },
  files: {
    name: 'files-server',
    version: '1.0.0',
    transport: { type: 'sse', port: 3511 },
    tools: [
      { name: 'read_file', description: 'Read file contents', params: { path: { type: 'string', description: 'File path' } } },
      { name: 'list_files', description: 'List directory contents', params: { dir: { type: 'string', description: 'Directory path' } } },
    ],
    resources: [{ uri: 'file:///{path}', name: 'file-content', description: 'File content as resource' }],
  },
  analytics: {
    name: 'analytics-server',
    version: '1.0.0',
    transport: { type: 'stdio' },
    tools: [
      {
        name: 'aggregate',
        description: 'Aggregate metrics data',
        layer: 4,
        params: {
          metric: { type: 'string', description: 'Metric name' },
          period: { type: 'string', description: 'Period (e.g. 7d, 30d, 1y)' },
        },
      },
    ],
  },
  app: {
    name: 'app-server',
    version: '1.0.0',
    transport: { type: 'stdio' },
    tools: [
      { name: 'show_dashboard', description: 'Show the dashboard app' },
      { name: 'get_stats', description: 'Current numbers for the dashboard' },
    ],
  },
}

/** Files a preset has besides src/index.ts, copied into the server's src/. */
export const PRESET_ASSETS: Record<string, string[]> = { app: ['app.html'] }

/** Arguments the generated test sends to each preset tool (the files server reads the workspace). */
export const PRESET_SAMPLE_ARGS: Record<string, Record<string, unknown>> = {
  read_file: { path: 'package.json' },
  list_files: { dir: '.' },
}

/** The seed's servers, which a new workspace gets (the app preset is added on request). */
export const PRESET_NAMES = Object.keys(PRESETS).filter((name) => name !== 'app')
