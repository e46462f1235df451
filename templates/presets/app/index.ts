// servers/<name>/src/index.ts: a tool with an MCP App (src/app.html), rendered by the host in a sandboxed
// iframe; the app calls get_stats back through the host.
import { defineServer, defineTool } from 'airmcp';

let refreshes = 0;

const server = defineServer({
  name: 'app-server',
  version: '1.0.0',
  transport: { type: 'stdio' }, // Gateway launches as child process
  tools: [
    defineTool('show_dashboard', {
      description: 'Show the dashboard app',
      // The page is read on each read of its ui:// resource; appSdk puts ext-apps' App class in it.
      ui: { file: new URL('../src/app.html', import.meta.url), appSdk: true, prefersBorder: true },
      handler: async () => ({ opened: true }),
    }),
    defineTool('get_stats', {
      description: 'Current numbers for the dashboard',
      ui: { visibility: ['app'] }, // Called by the app, kept from the model
      handler: async () => {
        refreshes++;
        return { refreshes, memoryMiB: Math.round(process.memoryUsage().rss / 1048576) };
      },
    }),
  ],
});

server.start();
