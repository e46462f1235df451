// This server's own test configuration: vitest stops looking here, so a vitest.config.* of a project
// this workspace sits inside is never loaded.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['test/**/*.test.ts'] },
});
