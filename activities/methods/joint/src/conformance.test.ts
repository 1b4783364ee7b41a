import { checkMethod } from '@retain/sdk/testing';
import { jointMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('joint passes the method checks', async () => {
    const report = await checkMethod(jointMethod);
    expect(report.passed).toContain('determinism: same seed, same run');
  });

  it('joint with epochsOver: union passes them too (task-IL: each union sample through its own head)', async () => {
    const report = await checkMethod(jointMethod, { config: { epochsOver: 'union' } });
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });
});
