import { checkMethod } from '@retain/sdk/testing';
import { adaptiveLrMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('adaptive-lr passes the method checks', async () => {
    const report = await checkMethod(adaptiveLrMethod, { config: { fisherSamples: 16 } });
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });
});
