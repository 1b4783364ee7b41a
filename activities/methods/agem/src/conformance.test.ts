import { checkMethod } from '@retain/sdk/testing';
import { agemMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('agem passes the method checks: its memory batches are the same after a resume', async () => {
    const report = await checkMethod(agemMethod, { config: { memorySize: 12, memoryBatch: 4 } });
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });

  it('agem cycling through its memory passes the method checks: the same memory batches after a resume', async () => {
    const report = await checkMethod(agemMethod, { config: { memorySize: 12, memoryBatch: 4, sampling: 'cycle' } });
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });
});
