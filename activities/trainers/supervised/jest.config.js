module.exports = { ...require('../../../jest.preset.js'), displayName: '@retain/trainer-supervised' };
