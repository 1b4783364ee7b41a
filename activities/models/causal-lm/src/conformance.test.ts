import { checkModel } from '@retain/sdk/testing';
import { causalLmModel } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('causal-lm passes the model checks on token sequences labelled at every position', async () => {
    const report = await checkModel(causalLmModel, {
      config: { width: 16, depth: 1, attentionHeads: 2, vocab: 32 },
      scenario: { inputDims: [8], classesPerHead: 32, heads: 1, targetsPerSample: 8 },
    });
    expect(report.passed).toContain('a training step builds and runs with a finite loss');
  });
});
