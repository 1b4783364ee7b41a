import { checkMethod } from '@retain/sdk/testing';
import { replayMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each(['reservoir', 'class-balanced'])('replay (%s) passes the method checks', async (policy) => {
    const report = await checkMethod(replayMethod, { config: { bufferSize: 12, policy } });
    expect(report.passed).toContain('determinism: same seed, same run');
  });

  it('replay cycling through its buffer passes the method checks: the same batches after a resume', async () => {
    const report = await checkMethod(replayMethod, { config: { bufferSize: 12, sampling: 'cycle' } });
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });
});
