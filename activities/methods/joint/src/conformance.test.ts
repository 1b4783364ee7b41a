import { checkMethod } from '@retain/sdk/testing';
import { jointMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('joint passes the method checks', async () => {
    const report = await checkMethod(jointMethod);
    expect(report.passed).toContain('determinism: same seed, same run');
  });
});
