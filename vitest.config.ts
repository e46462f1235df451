import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/helpers/temp-root.ts'],
    disableConsoleIntercept: true,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // expect.poll waits for a real condition; its default 1 s is an expectation of speed that a loaded 2-core
    // CI box does not meet. 15 s is an upper bound: a poll that is satisfied returns at once.
    expect: { poll: { timeout: 15_000 } },
  },
})
