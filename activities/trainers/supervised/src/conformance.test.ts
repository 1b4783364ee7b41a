import { checkTrainer } from '@retain/sdk/testing';
import { causalLm } from '@retain/engine';
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

  it('on a causal LM (8 labels per sample), 4 steps per run: resumes bit for bit', async () => {
    const report = await checkTrainer(supervisedTrainer, {
      config: { steps: 12, batchSize: 8, stepsPerRun: 4, optimizer: 'adam', checkpointEvery: 5, checkpointSeconds: 0 },
      scenario: { inputDims: [8], classesPerHead: 16, heads: 1, targetsPerSample: 8 },
      model: () => causalLm({ vocab: 16, context: 8, width: 8, depth: 1, attentionHeads: 2 }),
    });
    expect(report.passed).toContain('checkpoint-resume: resumed at step 5 ends as the uninterrupted run');
    expect(report.passed).toContain('checkpoint-resume: resumed at step 10 ends as the uninterrupted run');
  });
});
