import { initParams, mlp } from '@retain/engine';
import type { AfterTaskContext } from '@retain/sdk';
import { fisherDiagonal, hasBatchedFisher, taskFisher } from './index';
import { lossAndGrad, tinySet } from './testing';

const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
const params = initParams(model, 5);
const names = model.paramsForHead(0);

describe('Fisher diagonal', () => {
  const set = tinySet(8, 3);

  it('equals the mean of per-sample squared gradients, not the square of the batch gradient', async () => {
    const fisher = await fisherDiagonal({ model, head: 0, params, samples: set, count: 8, seed: 1, taskIndex: 0 });
    const perSample = await Promise.all(
      Array.from({ length: 8 }, (_, n) => lossAndGrad(model, {}, params, set.gather([n]), set.labels.subarray(n, n + 1))),
    );
    const batch = await lossAndGrad(model, {}, params, set.gather([0, 1, 2, 3, 4, 5, 6, 7]), set.labels);
    let differsFromBatch = 0;
    for (const p of names) {
      fisher[p].data.forEach((f, i) => {
        const expected = perSample.reduce((s, g) => s + g.grad[p].data[i] ** 2, 0) / 8;
        expect(f).toBeCloseTo(expected, 6);
        if (Math.abs(f - batch.grad[p].data[i] ** 2) > 1e-4) differsFromBatch++;
      });
    }
    expect(differsFromBatch).toBeGreaterThan(10);
  });

  it('averages over a seeded subset of `count` samples', async () => {
    const a = await fisherDiagonal({ model, head: 0, params, samples: set, count: 3, seed: 1, taskIndex: 0 });
    const b = await fisherDiagonal({ model, head: 0, params, samples: set, count: 3, seed: 1, taskIndex: 0 });
    const c = await fisherDiagonal({ model, head: 0, params, samples: set, count: 3, seed: 2, taskIndex: 0 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("taskFisher with fisherSamples 'all' averages over every training sample of the task", async () => {
    const task = { index: 0, name: 't', classes: [0, 1, 2], train: set, test: set };
    const ctx = (fisherSamples: number | 'all') =>
      ({ config: { fisherSamples }, seed: 1, taskIndex: 0, task, model, head: 0, params }) as unknown as AfterTaskContext<{
        fisherSamples: number | 'all';
      }>;
    const all = await taskFisher(ctx('all'));
    const every = await fisherDiagonal({ model, head: 0, params, samples: set, count: 8, seed: 1, taskIndex: 0 });
    for (const p of names) all[p].data.forEach((v, i) => expect(v).toBeCloseTo(every[p].data[i], 7));
    expect(await taskFisher(ctx(3))).not.toEqual(all);
  });
});

describe('Fisher diagonal in one batched graph (linear layers)', () => {
  // Two hidden layers, tanh and relu alike, two heads: every param is a linear layer's.
  const cases = [
    mlp({ inputSize: 3, hidden: [5, 4], classesPerHead: 3, heads: 2 }),
    mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1, activation: 'tanh' }),
  ];
  const set = tinySet(300, 5); // more than one chunk of 256 samples
  it.each(cases.map((m) => [m.name, m] as const))('%s: equals the per-sample loop within float tolerance', async (_name, m) => {
    const head = m.heads - 1;
    expect(hasBatchedFisher(m, head)).toBe(true);
    const at = initParams(m, 3);
    const opts = { model: m, head, params: at, samples: set, count: 300, seed: 1, taskIndex: 0 };
    const batched = await fisherDiagonal(opts);
    const loop = await fisherDiagonal({ ...opts, method: 'per-sample' });
    expect(Object.keys(batched).sort()).toEqual(m.paramsForHead(head).sort());
    for (const p of Object.keys(loop)) {
      const scale = Math.max(...loop[p].data);
      expect(scale).toBeGreaterThan(1e-4);
      // Float32 sums of 300 terms in another order: measured relative differences below 1e-6.
      loop[p].data.forEach((v, i) => expect(Math.abs(batched[p].data[i] - v)).toBeLessThan(1e-5 * scale));
    }
  });
});
