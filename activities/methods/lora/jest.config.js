module.exports = { ...require('../../../jest.preset.js'), displayName: '@retain/method-lora' };
