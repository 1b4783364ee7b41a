import { checkMethod } from '@retain/sdk/testing';
import { naiveMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('naive passes the method checks (it adds nothing to the step graph)', async () => {
    const report = await checkMethod(naiveMethod);
    expect(report.skipped).toContain('gradient of the loss terms (the method adds no loss term on any task)');
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });
});
