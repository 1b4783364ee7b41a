import { checkTrainer } from '@retain/sdk/testing';
import { supervisedTrainer } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each([
    ['one step per run, sgd', { steps: 12, batchSize: 8, stepsPerRun: 1, checkpointEvery: 5, checkpointSeconds: 0 }],
    ['4 steps per run, adam', { steps: 12, batchSize: 8, stepsPerRun: 4, optimizer: 'adam', checkpointEvery: 5, checkpointSeconds: 0 }],
  ])('supervised (%s) passes the trainer checks, resuming from every checkpoint', async (_label, config) => {
    const report = await checkTrainer(supervisedTrainer, { config });
    expect(report.passed).toContain('checkpoint-resume: resumed at step 5 ends as the uninterrupted run');
    expect(report.passed).toContain('checkpoint-resume: resumed at step 10 ends as the uninterrupted run');
  });
});
