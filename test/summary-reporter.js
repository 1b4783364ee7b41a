// A jest reporter that records one project's counts in <root>/.jest-results/<project>.json, so that
// `npm test` (one jest run per nx project) can end with a single "N passed, N failed" line, and
// with the names and first message lines of the failed tests: CI shows only the tail of the log.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { stripVTControlCharacters } = require('node:util');

const RESULTS_DIR = join(__dirname, '..', '.jest-results');
const ROOT = join(__dirname, '..');
const MESSAGE_LINES = 6;

class SummaryReporter {
  constructor(globalConfig) {
    this.name = (globalConfig.rootDir || process.cwd()).split('/').slice(-2).join('-');
  }

  onRunComplete(_contexts, results) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const failures = [];
    for (const suite of results.testResults) {
      const file = relative(ROOT, suite.testFilePath);
      if (suite.testExecError) failures.push({ file, test: '(suite did not run)', message: firstLines(suite.testExecError.message) });
      for (const test of suite.testResults.filter((t) => t.status === 'failed')) {
        failures.push({ file, test: test.fullName, message: firstLines(test.failureMessages.join('\n')) });
      }
    }
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      failures,
    };
    writeFileSync(join(RESULTS_DIR, `${this.name}.json`), JSON.stringify(counts));
  }
}

function firstLines(message) {
  // Jest colours its failure messages; the summary is read as plain text.
  return stripVTControlCharacters(message || '')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(0, MESSAGE_LINES)
    .join('\n');
}

module.exports = SummaryReporter;
