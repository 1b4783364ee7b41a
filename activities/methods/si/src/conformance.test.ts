import { checkMethod } from '@retain/sdk/testing';
import { siMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('si passes the method checks: its penalty gradient, and its path integral survives a resume', async () => {
    const report = await checkMethod(siMethod, { config: { c: 0.5 } });
    expect(report.passed).toContain('gradient of the loss terms (task 1)');
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });
});
