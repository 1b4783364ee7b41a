import { buildStepGraph, initParams, mlp, TrainSession, type TensorMap } from '@retain/engine';
import type { SampleSet } from '@retain/data';
import type { AfterTaskContext, MethodPlugin } from '@retain/sdk';
import { ewcMethod, fisherDiagonal, hasBatchedFisher, onlineEwcMethod, quadraticPenalty } from './index';

const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
const params = initParams(model, 5);
const names = model.paramsForHead(0);

/** A tiny in-memory sample set: n samples of 3 features, labels 0..2. */
function tinySet(n: number, seed = 1): SampleSet {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const x = Float32Array.from({ length: n * 3 }, next);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return {
    n,
    inputDims: [3],
    labels,
    gather: (indices, out) => {
      const target = out ?? new Float32Array(indices.length * 3);
      for (let k = 0; k < indices.length; k++) target.set(x.subarray(indices[k] * 3, indices[k] * 3 + 3), k * 3);
      return target;
    },
  };
}

/** Loss and the gradient of every param on one batch, read off one plain SGD step with lr = 1. */
async function lossAndGrad(method: ReturnType<typeof quadraticPenalty>, at: TensorMap, x: Float32Array, y: Int32Array) {
  const step = buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: method.step });
  const session = await TrainSession.create(step, { ...at, ...(method.tensors ?? {}) });
  try {
    const loss = await session.step(x, y, y.length, 1);
    const after = await session.read();
    const grad: TensorMap = {};
    for (const p of names) grad[p] = { dims: at[p].dims, data: at[p].data.map((v, i) => v - after[p].data[i]) };
    return { loss, grad };
  } finally {
    await session.close();
  }
}

const filled = (t: { dims: number[]; data: Float32Array }, f: (i: number) => number) => ({
  dims: [...t.dims],
  data: Float32Array.from(t.data, (_, i) => f(i)),
});

describe('EWC penalty', () => {
  const fisher: TensorMap = Object.fromEntries(names.map((p, k) => [p, filled(params[p], (i) => 0.1 + ((i * 7 + k) % 5) * 0.2)]));
  const anchor: TensorMap = Object.fromEntries(
    names.map((p, k) => [p, filled(params[p], (i) => params[p].data[i] + 0.05 * (((i + k) % 3) - 1))]),
  );
  const lambda = 3;
  const set = tinySet(6);
  const x = set.gather([0, 1, 2, 3, 4, 5]);
  const y = set.labels;

  /** lambda/2 * sum_i F_i (theta_i - a_i)^2, by hand. */
  const byHand = (theta: TensorMap) =>
    (lambda / 2) *
    names.reduce((s, p) => s + theta[p].data.reduce((q, v, i) => q + fisher[p].data[i] * (v - anchor[p].data[i]) ** 2, 0), 0);

  it('adds lambda/2 * sum F (theta - theta*)^2 to the loss', async () => {
    const plain = await lossAndGrad({}, params, x, y);
    const penalised = await lossAndGrad(quadraticPenalty([{ prefix: 'ewc.0', weights: fisher, anchor }], lambda / 2, names), params, x, y);
    expect(byHand(params)).toBeGreaterThan(1e-3);
    expect(penalised.loss - plain.loss).toBeCloseTo(byHand(params), 5);
  });

  it('has the gradient finite differences of the penalty give', async () => {
    const penalty = quadraticPenalty([{ prefix: 'ewc.0', weights: fisher, anchor }], lambda / 2, names);
    const plain = await lossAndGrad({}, params, x, y);
    const penalised = await lossAndGrad(penalty, params, x, y);
    const h = 1e-2; // the penalty is quadratic: central differences are exact up to rounding
    for (const p of names) {
      for (let i = 0; i < params[p].data.length; i++) {
        const shifted = (d: number) => ({ ...params, [p]: filled(params[p], (k) => params[p].data[k] + (k === i ? d : 0)) });
        const numeric = (byHand(shifted(h)) - byHand(shifted(-h))) / (2 * h);
        const graph = penalised.grad[p].data[i] - plain.grad[p].data[i];
        expect(graph).toBeCloseTo(numeric, 4);
        expect(graph).toBeCloseTo(lambda * fisher[p].data[i] * (params[p].data[i] - anchor[p].data[i]), 5);
      }
    }
  });

  it('leaves out params the task does not train (a frozen head)', () => {
    const some = quadraticPenalty([{ prefix: 'ewc.0', weights: fisher, anchor }], 1, ['trunk.0.weight']);
    expect(Object.keys(some.tensors ?? {}).sort()).toEqual(['ewc.0.anchor.trunk.0.weight', 'ewc.0.weight.trunk.0.weight']);
  });
});

describe('Fisher diagonal', () => {
  const set = tinySet(8, 3);

  it('equals the mean of per-sample squared gradients, not the square of the batch gradient', async () => {
    const fisher = await fisherDiagonal({ model, head: 0, params, samples: set, count: 8, seed: 1, taskIndex: 0 });
    const perSample = await Promise.all(
      Array.from({ length: 8 }, (_, n) => lossAndGrad({}, params, set.gather([n]), set.labels.subarray(n, n + 1))),
    );
    const batch = await lossAndGrad({}, params, set.gather([0, 1, 2, 3, 4, 5, 6, 7]), set.labels);
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

describe('ewc and online-ewc state', () => {
  const set = tinySet(6, 9);
  const task = { index: 0, name: 't', classes: [0, 1, 2], train: set, test: set };
  const ctx = (method: MethodPlugin, taskIndex: number, at: TensorMap, state?: TensorMap): AfterTaskContext =>
    ({
      config: method.configSchema.parse({ fisherSamples: 6 }),
      seed: 1,
      taskIndex,
      task: { ...task, index: taskIndex },
      model,
      head: 0,
      taskData: () => task,
      state,
      params: at,
    }) as AfterTaskContext;

  it('ewc keeps one Fisher and anchor per finished task and penalises each', async () => {
    const ewc: MethodPlugin = ewcMethod;
    const s1 = await ewc.afterTask!(ctx(ewc, 0, params));
    const later = initParams(model, 6);
    const s2 = await ewc.afterTask!(ctx(ewc, 1, later, s1));
    expect(Object.keys(s2!).filter((k) => k.startsWith('ewc.0.'))).toHaveLength(2 * names.length);
    expect(Object.keys(s2!).filter((k) => k.startsWith('ewc.1.'))).toHaveLength(2 * names.length);
    expect(s2!['ewc.1.anchor.trunk.0.weight'].data).toEqual(later['trunk.0.weight'].data);
    const training = await ewc.training!({ ...ctx(ewc, 2, later, s2) });
    expect(Object.keys(training.step?.constants ?? {})).toHaveLength(4 * names.length);
  });

  it('online-ewc over 3 tasks: penalty lambda/2 sum (g^2 F1 + g F2 + F3)(theta - theta3)^2, by hand', async () => {
    const online: MethodPlugin = onlineEwcMethod;
    const config = online.configSchema.parse({ fisherSamples: 6, lambda: 4, gamma: 0.5 }) as { lambda: number; gamma: number };
    const after = [initParams(model, 21), initParams(model, 22), initParams(model, 23)]; // params after tasks 0, 1, 2
    let state: TensorMap | undefined;
    for (let t = 0; t < 3; t++) state = await online.afterTask!({ ...ctx(online, t, after[t], state), config });
    // Each task's own Fisher, computed apart (the same seeded samples the method uses).
    const own = await Promise.all(
      after.map((at, t) => fisherDiagonal({ model, head: 0, params: at, samples: set, count: 6, seed: 1, taskIndex: t })),
    );
    const { lambda, gamma } = config;
    const theta = initParams(model, 24);
    let byHand = 0;
    for (const p of names)
      theta[p].data.forEach((v, i) => {
        const f = gamma ** 2 * own[0][p].data[i] + gamma * own[1][p].data[i] + own[2][p].data[i];
        byHand += (lambda / 2) * f * (v - after[2][p].data[i]) ** 2;
      });
    expect(byHand).toBeGreaterThan(0.1);
    const training = await online.training!({ ...ctx(online, 3, after[2], state), config });
    const x = set.gather([0, 1, 2, 3, 4, 5]);
    const plain = await lossAndGrad({}, theta, x, set.labels);
    const penalised = await lossAndGrad(training as ReturnType<typeof quadraticPenalty>, theta, x, set.labels);
    // Measured 1.73150 by hand and 1.73150 from the step graph's loss (float32).
    expect(penalised.loss - plain.loss).toBeCloseTo(byHand, 4);
  });

  it('online-ewc decays the running Fisher by gamma and adds the new one', async () => {
    const online: MethodPlugin = onlineEwcMethod;
    const first = ctx(online, 0, params);
    const s1 = await online.afterTask!(first);
    const s2 = await online.afterTask!({ ...ctx(online, 1, params, s1) });
    const gamma = (first.config as { gamma: number }).gamma;
    // Same params, same samples (the sample choice is seeded by task, all 6 are used): F2 = gamma F1 + F1.
    s2!['fisher.trunk.0.weight'].data.forEach((v, i) => expect(v).toBeCloseTo((1 + gamma) * s1!['fisher.trunk.0.weight'].data[i], 6));
    expect(Object.keys(s2!).filter((k) => k.startsWith('anchor.'))).toHaveLength(names.length);
  });
});
