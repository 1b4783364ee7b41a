import { checkMethod } from '@retain/sdk/testing';
import { lwfMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('lwf passes the method checks, the gradient of its distillation term included', async () => {
    const report = await checkMethod(lwfMethod, { config: { alpha: 2 } });
    expect(report.passed).toContain('gradient of the loss terms (task 1)');
  });
});
