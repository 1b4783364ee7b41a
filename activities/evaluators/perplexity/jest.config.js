module.exports = { ...require('../../../jest.preset.js'), displayName: '@retain/evaluator-perplexity' };
