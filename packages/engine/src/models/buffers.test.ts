import { buildInferenceModel } from '../export';
import { Graph, type Tensor } from '../graph';
import { initOptimizerState } from '../optim';
import { Rng } from '../rng';
import { InferenceSession, TrainSession } from '../runtime';
import { buildEvalGraph, buildStepGraph } from '../step';
import type { TensorMap } from '../tensor';
import { cnn } from './cnn';
import { initParams } from './init';
import { batchNormLayer, batchNormSpecs, linear, linearParams } from './layers';
import type { ForwardMode, Model } from './model';
import { transformer } from './transformer';

// Buffers: state the forward reads and the training step updates (batch-norm running statistics,
// dropout seed and step). They travel like params and come back as 'new.<name>'.

/** x [B, 3] -> batch norm -> linear head: small enough to check the statistics by hand. */
const bnModel = (): Model => {
  const bn = batchNormSpecs('bn', 3);
  const head = linearParams('head.0', 3, 2, 'xavier');
  return {
    name: 'bn-probe',
    inputDims: [3],
    heads: 1,
    classesPerHead: 2,
    params: [...bn.params, ...head],
    paramsForHead: () => [...bn.params, ...head].map((p) => p.name),
    buffers: bn.buffers,
    forward: (g: Graph, params: Record<string, Tensor>, x: Tensor, _head: number, mode?: ForwardMode) =>
      linear('bn-probe', params, 'head.0', batchNormLayer('bn-probe', params, 'bn', x, mode)),
  };
};

const copy = (m: TensorMap): TensorMap =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { dims: [...v.dims], data: v.data.slice() }]));

describe('model buffers', () => {
  test('batch norm: the step updates running statistics as PyTorch does; eval and export normalise with them', async () => {
    const model = bnModel();
    const params = initParams(model, 1);
    expect(Array.from(params['bn.running_var'].data)).toEqual([1, 1, 1]);
    const step = buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' } });
    expect(step.bufferNames).toEqual(['bn.running_mean', 'bn.running_var']);
    expect(step.trainable).not.toContain('bn.running_mean');
    const x = Float32Array.from([1, 2, 3, 4, 6, 8, -2, 0, 1, 5, 2, 0]); // 4 examples x 3 channels
    const session = await TrainSession.create(step, params);
    await session.step(x, Int32Array.from([0, 1, 0, 1]), 4, 0);
    const after = await session.read();
    await session.close();
    for (let c = 0; c < 3; c++) {
      const column = [0, 1, 2, 3].map((i) => x[i * 3 + c]);
      const mean = column.reduce((a, b) => a + b, 0) / 4;
      const unbiased = column.reduce((a, b) => a + (b - mean) ** 2, 0) / 3;
      expect(after['bn.running_mean'].data[c]).toBeCloseTo(0.1 * mean, 6);
      expect(after['bn.running_var'].data[c]).toBeCloseTo(0.9 + 0.1 * unbiased, 5);
    }

    // Eval mode: (x - running_mean) / sqrt(running_var + eps) * gamma + beta, then the head.
    const trained = { ...params, ...copy(after) };
    const evalSession = await InferenceSession.create(buildEvalGraph(model, 0), trained);
    const exported = await InferenceSession.create(buildInferenceModel(model, 0, trained));
    const one = x.subarray(0, 3);
    const { logits } = await evalSession.run(one, 1);
    expect(Array.from((await exported.run(one, 1)).logits)).toEqual(Array.from(logits));
    await evalSession.close();
    await exported.close();
    const normed = [0, 1, 2].map(
      (c) => (one[c] - trained['bn.running_mean'].data[c]) / Math.sqrt(trained['bn.running_var'].data[c] + 1e-5),
    );
    const w = trained['head.0.weight'].data;
    [0, 1].forEach((j) =>
      expect(logits[j]).toBeCloseTo(
        normed.reduce((s, v, c) => s + v * w[c * 2 + j], 0),
        5,
      ),
    );
  });

  test('resnet with batch norm trains (running statistics move) and exports like its eval graph', async () => {
    const model = cnn({ arch: 'resnet', image: [1, 8, 8], classesPerHead: 3, heads: 1, channels: [4, 8], norm: 'batch' });
    expect(model.buffers!.map((b) => b.name)).toContain('block.1.shortcut.bn.running_var');
    expect(model.params.map((p) => p.name)).not.toContain('stem.bias'); // BN's beta replaces the conv bias
    const rng = new Rng(5);
    const params = initParams(model, 2);
    const optimizer = { name: 'adam' as const };
    const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer }), {
      ...params,
      ...initOptimizerState(optimizer, model.params),
    });
    const batch = 6;
    const x = Float32Array.from({ length: batch * 64 }, () => rng.normal());
    const y = Int32Array.from({ length: batch }, (_, i) => i % 3);
    const losses = [];
    for (let s = 0; s < 15; s++) losses.push(await session.step(x, y, batch, 1e-2));
    const trained = await session.read();
    await session.close();
    expect(losses[14]).toBeLessThan(losses[0]); // fits the fixed batch
    expect(Array.from(trained['stem.bn.running_mean'].data).some((v) => v !== 0)).toBe(true);

    const state = { ...params, ...trained };
    const evalSession = await InferenceSession.create(buildEvalGraph(model, 0), state);
    const exported = await InferenceSession.create(buildInferenceModel(model, 0, state));
    const a = await evalSession.run(x, batch);
    const b = await exported.run(x, batch);
    await evalSession.close();
    await exported.close();
    const scale = Math.max(...Array.from(a.logits, Math.abs));
    a.logits.forEach((v, i) => expect(Math.abs(v - b.logits[i])).toBeLessThanOrEqual(2e-6 * scale));
  });

  test('dropout: masks change every step, and a run resumed from its read-out state repeats the uninterrupted losses', async () => {
    const model = transformer({ vocab: 256, context: 8, width: 16, depth: 1, attentionHeads: 2, heads: 1, dropout: 0.3 });
    const optimizer = { name: 'adam' as const };
    const step = buildStepGraph({ model, head: 0, optimizer });
    expect(step.bufferNames).toEqual(['dropout.seed', 'dropout.step']);
    const initial = { ...initParams(model, 3), ...initOptimizerState(optimizer, model.params) };
    const rng = new Rng(1);
    const batches = Array.from({ length: 4 }, () => ({
      x: Float32Array.from({ length: 4 * 8 }, () => rng.int(256)),
      y: Int32Array.from({ length: 4 }, () => rng.int(256)),
    }));

    const whole = await TrainSession.create(step, copy(initial));
    const wholeLosses = [];
    for (const b of batches) wholeLosses.push(await whole.step(b.x, b.y, 4, 1e-2));
    expect((await whole.read())['dropout.step'].data[0]).toBe(4);
    await whole.close();

    const first = await TrainSession.create(step, copy(initial));
    for (const b of batches.slice(0, 2)) await first.step(b.x, b.y, 4, 1e-2);
    const saved = copy(await first.read());
    await first.close();
    const resumed = await TrainSession.create(step, saved);
    const resumedLosses = [];
    for (const b of batches.slice(2)) resumedLosses.push(await resumed.step(b.x, b.y, 4, 1e-2));
    await resumed.close();
    expect(resumedLosses).toEqual(wholeLosses.slice(2));

    // Same batch, same params (lr 0): another step, another mask, another loss.
    const frozen = await TrainSession.create(step, copy(initial));
    const l1 = await frozen.step(batches[0].x, batches[0].y, 4, 0);
    const l2 = await frozen.step(batches[0].x, batches[0].y, 4, 0);
    await frozen.close();
    expect(l1).toBe(wholeLosses[0]);
    expect(l2).not.toBe(l1);
  });

  test('another run seed draws other dropout masks; eval is deterministic (no dropout)', async () => {
    const model = transformer({ vocab: 256, context: 8, width: 16, depth: 1, attentionHeads: 2, heads: 1, dropout: 0.3 });
    expect(initParams(model, 3)['dropout.seed'].data[0]).not.toBe(initParams(model, 4)['dropout.seed'].data[0]);
    const step = buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' } });
    const x = Float32Array.from({ length: 8 }, (_, i) => 65 + i);
    const y = Int32Array.from([66]);
    const base = initParams(model, 3);
    const loss = async (seed: number) => {
      const s = await TrainSession.create(step, { ...copy(base), 'dropout.seed': { dims: [], data: Float32Array.of(seed) } });
      const l = await s.step(x, y, 1, 0);
      await s.close();
      return l;
    };
    expect(await loss(11)).not.toBe(await loss(12));
    const evalSession = await InferenceSession.create(buildEvalGraph(model, 0), base);
    const a = await evalSession.run(x, 1);
    const b = await evalSession.run(x, 1);
    await evalSession.close();
    expect(Array.from(a.logits)).toEqual(Array.from(b.logits));
  });
});
