module.exports = { ...require('../../../jest.preset.js'), displayName: '@retain/benchmark-text-domains' };
