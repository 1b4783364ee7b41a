module.exports = { ...require('../../jest.preset.js'), displayName: '@retain/methods-kit' };
