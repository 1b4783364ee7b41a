// A jest reporter that records one project's counts in <root>/.jest-results/<project>.json, so that
// `npm test` (one jest run per nx project) can end with a single "N passed, N failed" line.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const RESULTS_DIR = join(__dirname, '..', '.jest-results');

class SummaryReporter {
  constructor(globalConfig) {
    this.name = (globalConfig.rootDir || process.cwd()).split('/').slice(-2).join('-');
  }

  onRunComplete(_contexts, results) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    writeFileSync(join(RESULTS_DIR, `${this.name}.json`), JSON.stringify(counts));
  }
}

module.exports = SummaryReporter;
