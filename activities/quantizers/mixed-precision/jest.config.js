module.exports = { ...require('../../../jest.preset.js'), displayName: '@retain/quantizer-mixed-precision' };
