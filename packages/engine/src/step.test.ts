import * as ops from './graph/ops';
import { cnn, initParams, mlp, transformer, type Model } from './models';
import { initOptimizerState, optimizerStateSpecs, type OptimizerConfig } from './optim';
import { Rng } from './rng';
import { stackValues, TrainSession } from './runtime';
import { learningRate, type LrSchedule } from './schedule';
import { buildStepGraph, type StepMethod } from './step';
import { numel } from './tensor';

// A plain-TS float64 reference of one MLP step (1 hidden relu layer), written independently of the graph code.
type Mat = { r: number; c: number; v: number[] };
const mat = (r: number, c: number, v: ArrayLike<number>): Mat => ({ r, c, v: Array.from(v) });
const mm = (a: Mat, b: Mat): Mat => {
  const v = new Array(a.r * b.c).fill(0);
  for (let i = 0; i < a.r; i++)
    for (let k = 0; k < a.c; k++) for (let j = 0; j < b.c; j++) v[i * b.c + j] += a.v[i * a.c + k] * b.v[k * b.c + j];
  return { r: a.r, c: b.c, v };
};
const T = (a: Mat): Mat => {
  const v = new Array(a.v.length);
  for (let i = 0; i < a.r; i++) for (let j = 0; j < a.c; j++) v[j * a.r + i] = a.v[i * a.c + j];
  return { r: a.c, c: a.r, v };
};
const addRow = (a: Mat, b: number[]): Mat => ({ ...a, v: a.v.map((x, i) => x + b[i % a.c]) });
const colSums = (a: Mat) => Array.from({ length: a.c }, (_, j) => a.v.filter((_, i) => i % a.c === j).reduce((s, x) => s + x, 0));

function referenceGrads(p: Record<string, number[]>, dims: Record<string, number[]>, x: Mat, y: number[], head: number) {
  const W0 = mat(dims['trunk.0.weight'][0], dims['trunk.0.weight'][1], p['trunk.0.weight']);
  const Wh = mat(dims[`head.${head}.weight`][0], dims[`head.${head}.weight`][1], p[`head.${head}.weight`]);
  const pre = addRow(mm(x, W0), p['trunk.0.bias']);
  const h = { ...pre, v: pre.v.map((z) => Math.max(z, 0)) };
  const logits = addRow(mm(h, Wh), p[`head.${head}.bias`]);
  const B = x.r;
  const C = logits.c;
  let loss = 0;
  const dlogits = { r: B, c: C, v: new Array(B * C).fill(0) };
  for (let i = 0; i < B; i++) {
    const row = logits.v.slice(i * C, (i + 1) * C);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0));
    loss += (lse - row[y[i]]) / B;
    for (let j = 0; j < C; j++) dlogits.v[i * C + j] = (Math.exp(row[j] - lse) - (j === y[i] ? 1 : 0)) / B;
  }
  const dh = mm(dlogits, T(Wh));
  const dpre = { ...dh, v: dh.v.map((g, i) => (pre.v[i] > 0 ? g : 0)) };
  return {
    loss,
    grads: {
      [`head.${head}.weight`]: mm(T(h), dlogits).v,
      [`head.${head}.bias`]: colSums(dlogits),
      'trunk.0.weight': mm(T(x), dpre).v,
      'trunk.0.bias': colSums(dpre),
    } as Record<string, number[]>,
  };
}

/** torch.nn.utils.clip_grad_norm_: every gradient times min(1, max / (global L2 norm + 1e-6)). */
function referenceClip(grads: Record<string, number[]>, maxNorm: number | undefined): Record<string, number[]> {
  if (maxNorm === undefined) return grads;
  const norm = Math.sqrt(Object.values(grads).reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0));
  // The cases below pick maxGradNorm far from the norm, so they test clipping on or off for sure.
  expect(Math.abs(Math.log(norm / maxNorm))).toBeGreaterThan(1);
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.map((x) => x * coef)]));
}

function referenceUpdate(
  opt: OptimizerConfig,
  p0: number[],
  g0: number[],
  state: Record<string, number[]>,
  name: string,
  lr: number,
  t: number,
): number[] {
  const wd = opt.name === 'adamw' ? 0 : (opt.weightDecay ?? 0);
  const g = g0.map((gi, i) => gi + wd * p0[i]);
  // AdamW: decoupled decay shrinks the param before the Adam step.
  const p = opt.name === 'adamw' ? p0.map((pi) => pi * (1 - lr * (opt.weightDecay ?? 0.01))) : p0;
  if (opt.name === 'sgd') {
    const mu = opt.momentum ?? 0;
    if (mu === 0) return p.map((pi, i) => pi - lr * g[i]);
    const v = (state[`m.${name}`] = state[`m.${name}`].map((vi, i) => mu * vi + g[i]));
    const d = opt.nesterov ? g.map((gi, i) => gi + mu * v[i]) : v;
    return p.map((pi, i) => pi - lr * d[i]);
  }
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = opt;
  const m = (state[`m.${name}`] = state[`m.${name}`].map((mi, i) => beta1 * mi + (1 - beta1) * g[i]));
  const v = (state[`v.${name}`] = state[`v.${name}`].map((vi, i) => beta2 * vi + (1 - beta2) * g[i] * g[i]));
  return p.map((pi, i) => pi - (lr * (m[i] / (1 - beta1 ** t))) / (Math.sqrt(v[i] / (1 - beta2 ** t)) + eps));
}

const tiny = (): Model => mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 2 });

function batch(seed: number, n: number, features: number, classes: number) {
  const rng = new Rng(seed);
  return { x: Float32Array.from({ length: n * features }, () => rng.normal()), y: Int32Array.from({ length: n }, () => rng.int(classes)) };
}

describe('training step graph', () => {
  const optimizers: [string, OptimizerConfig][] = [
    ['plain sgd', { name: 'sgd' }],
    ['sgd with momentum and weight decay', { name: 'sgd', momentum: 0.9, weightDecay: 0.01 }],
    ['sgd nesterov', { name: 'sgd', momentum: 0.8, nesterov: true }],
    ['adam', { name: 'adam' }],
    ['adam with weight decay', { name: 'adam', beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05 }],
    ['adamw', { name: 'adamw' }],
    ['adamw with strong decay and clipping', { name: 'adamw', beta1: 0.85, weightDecay: 0.3, maxGradNorm: 0.05 }],
    ['sgd momentum with clipping', { name: 'sgd', momentum: 0.9, maxGradNorm: 0.1 }],
    ['adam with clipping above the norm (no effect)', { name: 'adam', maxGradNorm: 1e3 }],
  ];

  test.each(optimizers)('%s: three steps equal the plain-TS reference', async (_label, opt) => {
    const model = tiny();
    const head = 1;
    const names = model.paramsForHead(head);
    const specs = model.params.filter((p) => names.includes(p.name));
    const params = initParams(model, 3);
    const step = buildStepGraph({ model, head, optimizer: opt });
    expect(step.paramNames).toEqual(names);
    expect(step.stateNames).toEqual(optimizerStateSpecs(opt, specs).map((s) => s.name));
    const session = await TrainSession.create(step, { ...params, ...initOptimizerState(opt, specs) });

    const dims = Object.fromEntries(model.params.map((p) => [p.name, p.dims]));
    const ref: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, Array.from(params[n].data)]));
    const refState: Record<string, number[]> = Object.fromEntries(
      specs.flatMap((s) => [`m.${s.name}`, `v.${s.name}`].map((k) => [k, new Array(numel(s.dims)).fill(0)])),
    );
    // The learning rate changes every step (warm-up, then cosine) through the same graph.
    const schedule: LrSchedule = { name: 'cosine', warmupSteps: 1, minLr: 0.01 };
    try {
      for (let t = 1; t <= 3; t++) {
        const lr = learningRate(schedule, 0.1, t - 1, 3);
        const { x, y } = batch(10 + t, 5, 3, 3);
        const loss = await session.step(x, y, 5, lr);
        const expected = referenceGrads(ref, dims, mat(5, 3, x), Array.from(y), head);
        expect(Math.abs(loss - expected.loss)).toBeLessThan(1e-5 * Math.max(1, expected.loss));
        const grads = referenceClip(expected.grads, opt.maxGradNorm);
        for (const n of names) ref[n] = referenceUpdate(opt, ref[n], grads[n], refState, n, lr, t);
      }
      const got = await session.read();
      for (const n of names) {
        const diff = Math.max(...Array.from(got[n].data).map((v, i) => Math.abs(v - ref[n][i])));
        expect(diff).toBeLessThan(2e-5);
        expect(got[n].dims).toEqual(dims[n]);
      }
      if (opt.name !== 'sgd') expect(Array.from(got['adam.t'].data)).toEqual([3]);
    } finally {
      await session.close();
    }
  });

  test('training on a separable problem lowers the loss by a clear margin', async () => {
    // Two gaussian blobs per class around fixed centres: learnable in a few dozen steps.
    const model = mlp({ inputSize: 8, hidden: [16], classesPerHead: 4, heads: 1 });
    const rng = new Rng(5);
    const centres = Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => 3 * rng.normal()));
    const sample = (n: number) => {
      const y = Int32Array.from({ length: n }, () => rng.int(4));
      const x = new Float32Array(n * 8);
      y.forEach((c, i) => centres[c].forEach((m, j) => (x[i * 8 + j] = m + rng.normal())));
      return { x, y };
    };
    const opt: OptimizerConfig = { name: 'sgd', momentum: 0.9 };
    const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: opt }), {
      ...initParams(model, 1),
      ...initOptimizerState(opt, model.params),
    });
    try {
      const losses: number[] = [];
      for (let s = 0; s < 60; s++) {
        const { x, y } = sample(32);
        losses.push(await session.step(x, y, 32, 0.05));
      }
      const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
      const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
      expect(first).toBeGreaterThan(0.8);
      expect(last).toBeLessThan(0.25 * first);
    } finally {
      await session.close();
    }
  });

  test("a method's loss term adds to the loss and to the gradient", async () => {
    const model = tiny();
    const opt: OptimizerConfig = { name: 'sgd' };
    const params = initParams(model, 2);
    const { x, y } = batch(1, 4, 3, 3);
    const run = async (extra: boolean) => {
      const step = buildStepGraph({
        model,
        head: 0,
        optimizer: opt,
        // an L2 penalty 0.5 * c * |w|^2 on one weight with c fed as a method constant
        method: extra
          ? {
              constants: { 'penalty.c': [] },
              lossTerm: ({ params: p, inputs }) => ops.scale(ops.mul(ops.sum(ops.square(p['head.0.bias'])), inputs['penalty.c']), 0.5),
            }
          : undefined,
      });
      const s = await TrainSession.create(step, {
        ...params,
        ...(extra ? { 'penalty.c': { dims: [], data: new Float32Array([2]) } } : {}),
      });
      const loss = await s.step(x, y, 4, 0.1);
      const after = await s.read();
      await s.close();
      return { loss, bias: Array.from(after['head.0.bias'].data) };
    };
    const plain = await run(false);
    const penalised = await run(true);
    const b0 = Array.from(params['head.0.bias'].data);
    const l2 = b0.reduce((s, b) => s + b * b, 0);
    expect(penalised.loss).toBeCloseTo(plain.loss + l2, 5);
    // d/db of c/2 |b|^2 = c b = 2b, so the penalised step moves b by a further -lr * 2b
    penalised.bias.forEach((b, i) => expect(b).toBeCloseTo(plain.bias[i] - 0.1 * 2 * b0[i], 5));
  });

  test.each<[string, number | 'any', OptimizerConfig]>([
    ['sgd with momentum', 4, { name: 'sgd', momentum: 0.9, weightDecay: 1e-3 }],
    ['adam with clipping', 4, { name: 'adam', maxGradNorm: 0.5 }],
    ['sgd with momentum', 'any', { name: 'sgd', momentum: 0.9, weightDecay: 1e-3 }],
    ['adam with clipping', 'any', { name: 'adam', maxGradNorm: 0.5 }],
  ])('%s: a graph of stepsPerRun %s gives the bits of 4 one-step runs', async (_label, stepsPerRun, opt) => {
    const model = mlp({ inputSize: 12, hidden: [16, 8], classesPerHead: 5, heads: 1 });
    const initial = { ...initParams(model, 4), ...initOptimizerState(opt, model.params) };
    const K = 4;
    const B = 6;
    const data = batch(21, K * B, 12, 5);
    const lrs = [0.05, 0.04, 0.03, 0.02];
    const single = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: opt }), initial);
    const fused = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: opt, stepsPerRun }), initial);
    try {
      const losses = [];
      for (let k = 0; k < K; k++)
        losses.push(await single.step(data.x.subarray(k * B * 12, (k + 1) * B * 12), data.y.subarray(k * B, (k + 1) * B), B, lrs[k]));
      expect(Array.from(await fused.steps(data.x, data.y, B, lrs))).toEqual(Array.from(Float32Array.from(losses)));
      if (stepsPerRun === 4) await expect(fused.step(data.x, data.y, B, 0.1)).rejects.toThrow(/runs 4 steps per run; call steps\(\)/);
      const [a, b] = [await single.read(), await fused.read()];
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      for (const name of Object.keys(a)) expect(bitsOf(b[name].data)).toEqual(bitsOf(a[name].data));
    } finally {
      await Promise.all([single.close(), fused.close()]);
    }
  });
});

describe('Scan step graphs', () => {
  test('params the step does not train are read from the outer graph and stay as fed', async () => {
    const model = mlp({ inputSize: 12, hidden: [16], classesPerHead: 5, heads: 1 });
    const opt: OptimizerConfig = { name: 'sgd', momentum: 0.5 };
    const trainable = ['head.0.weight', 'head.0.bias'];
    const initial = {
      ...initParams(model, 4),
      ...initOptimizerState(
        opt,
        model.params.filter((p) => trainable.includes(p.name)),
      ),
    };
    const data = batch(3, 3 * 4, 12, 5);
    const [single, scan] = await Promise.all(
      [1, 'any' as const].map(async (k) =>
        TrainSession.create(buildStepGraph({ model, head: 0, optimizer: opt, trainable, stepsPerRun: k }), initial),
      ),
    );
    try {
      for (let k = 0; k < 3; k++) await single.step(data.x.subarray(k * 48, (k + 1) * 48), data.y.subarray(k * 4, (k + 1) * 4), 4, 0.1);
      await scan.steps(data.x, data.y, 4, [0.1, 0.1, 0.1]);
      const [a, b] = [await single.read(), await scan.read()];
      for (const name of Object.keys(a)) expect(bitsOf(b[name].data)).toEqual(bitsOf(a[name].data));
      expect(bitsOf(b['trunk.0.weight'].data)).toEqual(bitsOf(initial['trunk.0.weight'].data));
      expect(bitsOf(b['head.0.weight'].data)).not.toEqual(bitsOf(initial['head.0.weight'].data));
    } finally {
      await Promise.all([single.close(), scan.close()]);
    }
  });
});

describe('K-step graphs with model buffers', () => {
  const resnet = () => cnn({ arch: 'resnet', image: [1, 8, 8], classesPerHead: 3, heads: 1, channels: [4, 8], norm: 'batch' });
  const tiny = () => transformer({ vocab: 256, context: 8, width: 16, depth: 1, attentionHeads: 2, heads: 1, dropout: 0.3 });
  test.each<[string, number | 'any', () => Model, (rng: Rng) => number]>([
    ['resnet with batch norm', 3, resnet, (r) => r.normal()],
    ['transformer with dropout', 3, tiny, (r) => r.int(256)],
    ['resnet with batch norm', 'any', resnet, (r) => r.normal()],
    ['transformer with dropout', 'any', tiny, (r) => r.int(256)],
  ])(
    '%s: a graph of stepsPerRun %s carries the buffers from step to step, as 3 one-step runs do',
    async (_label, stepsPerRun, build, draw) => {
      const model = build();
      const opt: OptimizerConfig = { name: 'adam' };
      const initial = { ...initParams(model, 6), ...initOptimizerState(opt, model.params) };
      const [K, B] = [3, 4];
      const features = numel(model.inputDims);
      const rng = new Rng(8);
      const x = Float32Array.from({ length: K * B * features }, () => draw(rng));
      const y = Int32Array.from({ length: K * B }, () => rng.int(model.classesPerHead));
      const single = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: opt }), initial);
      const fused = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: opt, stepsPerRun }), initial);
      try {
        const losses = [];
        for (let k = 0; k < K; k++)
          losses.push(await single.step(x.subarray(k * B * features, (k + 1) * B * features), y.subarray(k * B, (k + 1) * B), B, 0.01));
        expect(Array.from(await fused.steps(x, y, B, [0.01, 0.01, 0.01]))).toEqual(Array.from(Float32Array.from(losses)));
        const [a, b] = [await single.read(), await fused.read()];
        expect(model.buffers!.length).toBeGreaterThan(0);
        for (const name of Object.keys(a)) expect(bitsOf(b[name].data)).toEqual(bitsOf(a[name].data));
      } finally {
        await Promise.all([single.close(), fused.close()]);
      }
    },
  );
});

describe('step methods (a continual-learning method inside the step graph)', () => {
  const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
  const params = initParams(model, 4);
  const x = Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3]);
  const y = Int32Array.from([0, 2]);
  const scalar = (v: number) => ({ dims: [], data: new Float32Array([v]) });

  test('state is updated by every step and read back; constants stay as fed', async () => {
    // A counter of steps and a running sum of the loss gradient on one bias, as SI-like state.
    const step = buildStepGraph({
      model,
      head: 0,
      optimizer: { name: 'sgd' },
      method: {
        constants: { 'm.scale': [] },
        state: { 'm.count': [], 'm.sum': [3] },
        stateUpdate: ({ inputs, taskGrads }) => ({
          'm.count': ops.add(inputs['m.count'], inputs['m.scale']),
          'm.sum': ops.add(inputs['m.sum'], taskGrads['head.0.bias']),
        }),
      },
    });
    expect(step.methodInputs.sort()).toEqual(['m.count', 'm.scale', 'm.sum']);
    expect(step.methodState.sort()).toEqual(['m.count', 'm.sum']);
    const session = await TrainSession.create(step, {
      ...params,
      'm.scale': scalar(2),
      'm.count': scalar(0),
      'm.sum': { dims: [3], data: new Float32Array(3) },
    });
    try {
      const biases: number[][] = [Array.from(params['head.0.bias'].data)];
      for (let s = 0; s < 3; s++) {
        await session.step(x, y, 2, 0.5);
        biases.push(Array.from((await session.read())['head.0.bias'].data));
      }
      const after = await session.read();
      expect(after['m.count'].data[0]).toBe(6);
      expect(after['m.scale'].data[0]).toBe(2);
      // Plain SGD: the summed gradient is (first bias - last bias) / lr.
      after['m.sum'].data.forEach((v, i) => expect(v).toBeCloseTo((biases[0][i] - biases[3][i]) / 0.5, 5));
    } finally {
      await session.close();
    }
  });

  test('batch inputs are fed with each step, and a gradient transform replaces the gradients', async () => {
    // Zero every gradient when the fed flag is 0: the params must not move.
    const step = buildStepGraph({
      model,
      head: 0,
      optimizer: { name: 'sgd' },
      method: {
        batchInputs: { 'm.flag': { dims: [], dtype: 'float32' } },
        gradientTransform: ({ grads, inputs }) =>
          Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, ops.mul(g, inputs['m.flag'])])),
      },
    });
    expect(step.batchInputs).toEqual(['m.flag']);
    const session = await TrainSession.create(step, params);
    try {
      const flag = (v: number) => ({ 'm.flag': { dtype: 'float32' as const, dims: [], data: new Float32Array([v]) } });
      await session.step(x, y, 2, 0.5, flag(0));
      expect((await session.read())['trunk.0.weight'].data).toEqual(params['trunk.0.weight'].data);
      await session.step(x, y, 2, 0.5, flag(1));
      expect((await session.read())['trunk.0.weight'].data).not.toEqual(params['trunk.0.weight'].data);
    } finally {
      await session.close();
    }
  });

  test('bad method hooks are errors that say what to do', () => {
    expect(() => buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: { constants: { 'head.0.bias': [3] } } })).toThrow(
      /clashes with a param.*prefix it/,
    );
    expect(() => buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: { state: { 'm.s': [] } } })).toThrow(
      /needs a stateUpdate/,
    );
    expect(() => buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: { gradientTransform: () => ({}) } })).toThrow(
      /returned no gradient for trunk.0.weight/,
    );
    expect(() => buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method: { lossTerm: ({ logits }) => logits } })).toThrow(
      /a method lossTerm must return a float32 scalar/,
    );
  });

  // Every hook at once: an EWC-like penalty (constants + lossTerm), a gradient transform that
  // reads a second batch (A-GEM-like, its batch a per-step input) and SI-like state.
  const everyHook: StepMethod = {
    constants: { 'm.anchor': [3], 'm.strength': [] },
    state: { 'm.path': [3] },
    batchInputs: { 'm.x': { dims: ['M', 3], dtype: 'float32' }, 'm.y': { dims: ['M'], dtype: 'int64' } },
    lossTerm: ({ params, inputs }) =>
      ops.mul(ops.sum(ops.square(ops.sub(params['head.0.bias'], inputs['m.anchor']))), inputs['m.strength']),
    gradientTransform: ({ grads, inputs, lossGradients }) => {
      const other = lossGradients(inputs['m.x'], inputs['m.y']);
      return Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, ops.add(g, ops.scale(other[n], 0.5))]));
    },
    stateUpdate: ({ inputs, taskGrads, updated, params }) => ({
      'm.path': ops.add(inputs['m.path'], ops.mul(taskGrads['head.0.bias'], ops.sub(params['head.0.bias'], updated['head.0.bias']))),
    }),
  };

  test.each<number | 'any'>([3, 'any'])(
    'a graph of stepsPerRun %s runs every method hook per step, chaining the state: the bits of 3 one-step runs',
    async (stepsPerRun) => {
      const opt: OptimizerConfig = { name: 'sgd', momentum: 0.9, nesterov: true };
      const [K, B, M] = [3, 2, 4];
      const rng = new Rng(5);
      const draw = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
      const labels = (n: number) => BigInt64Array.from({ length: n }, () => BigInt(rng.int(3)));
      const data = { x: draw(K * B * 3), y: Int32Array.from(labels(K * B), Number), mx: draw(K * M * 3), my: labels(K * M) };
      const initial = {
        ...params,
        ...initOptimizerState(opt, model.params),
        'm.anchor': { dims: [3], data: draw(3) },
        'm.strength': scalar(0.7),
        'm.path': { dims: [3], data: new Float32Array(3) },
      };
      const graphs = [1, stepsPerRun].map((k) => buildStepGraph({ model, head: 0, optimizer: opt, method: everyHook, stepsPerRun: k }));
      const memory = (k: number) => ({
        'm.x': { dtype: 'float32' as const, dims: [M, 3], data: data.mx.slice(k * M * 3, (k + 1) * M * 3) },
        'm.y': { dtype: 'int64' as const, dims: [M], data: data.my.slice(k * M, (k + 1) * M) },
      });
      const single = await TrainSession.create(graphs[0], initial);
      const fused = await TrainSession.create(graphs[1], initial);
      try {
        const losses = [];
        for (let k = 0; k < K; k++)
          losses.push(
            await single.step(data.x.subarray(k * B * 3, (k + 1) * B * 3), data.y.subarray(k * B, (k + 1) * B), B, 0.1, memory(k)),
          );
        const perStep = [0, 1, 2].map(memory);
        const stacked = {
          'm.x': stackValues(
            'm.x',
            perStep.map((f) => f['m.x']),
          ),
          'm.y': stackValues(
            'm.y',
            perStep.map((f) => f['m.y']),
          ),
        };
        expect(stacked['m.x'].dims).toEqual([K, M, 3]);
        expect(Array.from(await fused.steps(data.x, data.y, B, [0.1, 0.1, 0.1], stacked))).toEqual(Array.from(Float32Array.from(losses)));
        const [a, b] = [await single.read(), await fused.read()];
        expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
        expect(a['m.path'].data.some((v) => v !== 0)).toBe(true); // the state did move
        for (const name of Object.keys(a)) expect(bitsOf(b[name].data)).toEqual(bitsOf(a[name].data));
        if (stepsPerRun === 'any') {
          // Single steps through the Scan graph: step() stacks the per-step feeds by one.
          const scanSingles = await TrainSession.create(graphs[1], initial);
          for (let k = 0; k < K; k++)
            await scanSingles.step(data.x.subarray(k * B * 3, (k + 1) * B * 3), data.y.subarray(k * B, (k + 1) * B), B, 0.1, memory(k));
          const c = await scanSingles.read();
          await scanSingles.close();
          for (const name of Object.keys(a)) expect(bitsOf(c[name].data)).toEqual(bitsOf(a[name].data));
        }
      } finally {
        await Promise.all([single.close(), fused.close()]);
      }
    },
  );

  test('one session holding a one-step and a K-step graph mixes single and K-step runs on the same values; so does a Scan graph alone', async () => {
    const opt: OptimizerConfig = { name: 'adam' };
    const K = 2;
    const graphs = [1, K].map((k) => buildStepGraph({ model, head: 0, optimizer: opt, stepsPerRun: k }));
    const scan = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: opt, stepsPerRun: 'any' }), {
      ...params,
      ...initOptimizerState(opt, model.params),
    });
    const initial = { ...params, ...initOptimizerState(opt, model.params) };
    const rng = new Rng(9);
    const xs = Float32Array.from({ length: 5 * 2 * 3 }, () => rng.normal());
    const ys = Int32Array.from({ length: 5 * 2 }, () => rng.int(3));
    const at = (s: number, n = 1) => [xs.subarray(s * 6, (s + n) * 6), ys.subarray(s * 2, (s + n) * 2)] as const;
    const single = await TrainSession.create(graphs[0], initial);
    const mixed = await TrainSession.create(graphs, initial);
    try {
      expect(mixed.stepsPerRun).toEqual([1, 2]);
      for (let s = 0; s < 5; s++) await single.step(...at(s), 2, 0.01);
      // 1 + 2 + 1 + 1 steps: single, K-step, then singles again.
      await mixed.step(...at(0), 2, 0.01);
      await mixed.steps(...at(1, 2), 2, [0.01, 0.01]);
      await mixed.step(...at(3), 2, 0.01);
      await mixed.step(...at(4), 2, 0.01);
      await expect(mixed.steps(...at(0, 3), 2, [0.01, 0.01, 0.01])).rejects.toThrow(/runs 1 or 2 steps per run, got 3 learning rates/);
      // The Scan graph: 1 + 3 + 1 steps, all through the one graph.
      expect(scan.stepsPerRun).toEqual(['any']);
      await scan.step(...at(0), 2, 0.01);
      await scan.steps(...at(1, 3), 2, [0.01, 0.01, 0.01]);
      await scan.steps(...at(4), 2, [0.01]);
      const [a, b, c] = [await single.read(), await mixed.read(), await scan.read()];
      for (const name of Object.keys(a)) expect(bitsOf(b[name].data)).toEqual(bitsOf(a[name].data));
      for (const name of Object.keys(a)) expect(bitsOf(c[name].data)).toEqual(bitsOf(a[name].data));
    } finally {
      await Promise.all([single.close(), mixed.close(), scan.close()]);
    }
    const other = buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, stepsPerRun: 2 });
    await expect(TrainSession.create([graphs[0], other], initial)).rejects.toThrow(
      /differs from the 1-step one in stateNames; build both from the same spec/,
    );
  });
});

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
