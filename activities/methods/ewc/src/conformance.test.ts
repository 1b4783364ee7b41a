import { checkMethod } from '@retain/sdk/testing';
import { ewcMethod, onlineEwcMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each([ewcMethod, onlineEwcMethod])('$name passes the method checks, its penalty gradient included', async (method) => {
    const report = await checkMethod(method, { config: { fisherSamples: 16, lambda: 5 }, valid: [{ fisherSamples: 'all' }] });
    expect(report.passed).toContain('gradient of the loss terms (task 1)');
  });
});
