// servers/analytics/src/index.ts
import { defineServer, defineTool } from 'airmcp';

const server = defineServer({
  name: 'analytics-server',
  version: '1.0.0',
  transport: { type: 'stdio' }, // Gateway launches as child process
  tools: [
    defineTool('aggregate', {
      description: 'Aggregate metrics data',
      layer: 4,
      params: {
        metric: { type: 'string', description: 'Metric name' },
        period: { type: 'string', description: 'Period (e.g. 7d, 30d, 1y)' },
      },
      handler: async ({ metric, period }) => {
        return { metric, period, value: Math.random() * 1000, unit: 'count' };
      },
    }),
  ],
});

server.start();
