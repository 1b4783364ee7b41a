module.exports = { ...require('../../../jest.preset.js'), displayName: '@retain/quantizer-w8a8' };
