import { causalLm } from '@retain/engine';
import { checkMethod } from '@retain/sdk/testing';
import { loraMethod, qloraMethod } from './index';

describe('conformance (@retain/sdk/testing)', () => {
  it.each([
    [loraMethod, { targets: ['trunk.0', 'head'] }],
    [loraMethod, { targets: ['trunk.0'], perTask: 'shared', rank: 2 }],
    [qloraMethod, { targets: ['trunk.0', 'head'], base: { blockSize: 4 } }],
    [qloraMethod, { targets: ['trunk.0'], base: { grid: 'nf4', blockSize: 4 } }],
    [loraMethod, { targets: ['trunk.0', 'head'], merge: false }],
    [loraMethod, { targets: ['trunk.0'], merge: false, perTask: 'shared' }],
    [loraMethod, { targets: ['trunk.0'], fromTask: 1 }],
    [loraMethod, { targets: ['trunk.0'], fromTask: 1, merge: false }],
    [qloraMethod, { targets: ['trunk.0'], merge: false, base: { blockSize: 4 } }],
  ])('$name %j passes the method checks (hooks, determinism, checkpoint-resume) on an MLP with a head per task', async (method, config) => {
    const report = await checkMethod(method, { config });
    expect(report.passed).toContain('checkpoint-resume: a task resumed mid-way ends as the uninterrupted one');
  });

  it.each([loraMethod, qloraMethod])('$name passes on a causal LM with its default targets', async (method) => {
    const report = await checkMethod(method, {
      config: { rank: 2 },
      scenario: { inputDims: [8], classesPerHead: 16, heads: 1, targetsPerSample: 8 },
      model: () => causalLm({ vocab: 16, context: 8, width: 8, depth: 1, attentionHeads: 2 }),
    });
    expect(report.passed).toContain('determinism: same seed, same run');
  });
});
