import type { Reporter, TestModule } from 'vitest/node'

/** Ends the run with the plain line CI reads: `N passed, N failed, N skipped`, then the run's total time. */
export default class SummaryReporter implements Reporter {
  private started = performance.now()

  onInit(): void {
    this.started = performance.now()
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else skipped++
      }
      if (module.state() === 'failed' && ![...module.children.allTests()].some((t) => t.result().state === 'failed')) failed++
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`)
    process.stdout.write(`test time: ${((performance.now() - this.started) / 1000).toFixed(1)} s\n`)
  }
}
