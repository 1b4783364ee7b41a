// Prints the total over every project's jest run (see summary-reporter.js) as the closing lines:
// each failed test with the start of its message, then the counts.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = join(__dirname, '..', '.jest-results');
const total = { passed: 0, failed: 0, skipped: 0, projects: 0 };
const failures = [];
for (const file of (existsSync(dir) ? readdirSync(dir) : []).filter((f) => f.endsWith('.json'))) {
  const counts = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
  total.projects += 1;
  failures.push(...(counts.failures ?? []));
}
for (const { file, test, message } of failures) {
  console.log(`\nFAILED ${file} › ${test}\n${message.replace(/^/gm, '    ')}`);
}
console.log(`\njest: ${total.projects} projects`);
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
