// servers/search/src/index.ts
import { defineServer, defineTool, cachePlugin } from 'airmcp';

const server = defineServer({
  name: 'search-server',
  version: '1.0.0',
  transport: { type: 'sse', port: 3510 },
  use: [cachePlugin({ ttlMs: 30_000, exclude: ['search_reindex'] })],
  tools: [
    defineTool('search', {
      description: 'Full-text search across titles and body',
      params: {
        query: { type: 'string', description: 'Search query' },
        limit: { type: 'number', description: 'Max results', optional: true },
      },
      handler: async ({ query, limit }) => {
        return { results: [], total: 0, query };
      },
    }),
    defineTool('search_reindex', {
      description: 'Rebuild the search index',
      handler: async () => {
        return { status: 'reindexing', startedAt: new Date().toISOString() };
      },
    }),
  ],
});

server.start();
