// Integration tests share ONE real Temporal dev server, started in globalSetup and stopped in
// globalTeardown; tests find it through TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE.
module.exports = {
  ...require('../jest.preset.js'),
  displayName: '@retain/test',
  globalSetup: '<rootDir>/src/setup/global-setup.ts',
  globalTeardown: '<rootDir>/src/setup/global-teardown.ts',
  // Real training runs through real workers: minutes, not seconds.
  testTimeout: 10 * 60_000,
};
