module.exports = { ...require('../../../jest.preset.js'), displayName: '@retain/model-causal-lm' };
