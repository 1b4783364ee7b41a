import { checkModel } from '@retain/sdk/testing';
import { transformerModel } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it('transformer passes the model checks on byte tokens', async () => {
    const report = await checkModel(transformerModel, {
      config: { width: 16, depth: 1, attentionHeads: 2, vocab: 32 },
      scenario: {
        inputDims: [8],
        classesPerHead: 32,
        heads: 1,
        example: (rng, _label, size) => Float32Array.from({ length: size }, () => Math.floor(rng.float() * 32)),
      },
    });
    expect(report.passed).toContain('a training step builds and runs with a finite loss');
  });
});
