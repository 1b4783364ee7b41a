// Shared jest settings. Tests import workspace packages from their TypeScript sources through
// the "retain-source" export condition, so unit tests need no build; processes that tests
// spawn (workers, the CLI) run the built dist/ files.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['retain-source', 'node', 'require', 'default'] },
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Tests run real onnxruntime sessions and real Temporal servers: seconds, not milliseconds.
  testTimeout: 60_000,
  // Each project's counts land in .jest-results/ so `npm test` can close with one summary line.
  reporters: ['default', require('node:path').join(__dirname, 'test/summary-reporter.js')],
};
