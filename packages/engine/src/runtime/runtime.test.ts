import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initParams, mlp } from '../models';
import { initOptimizerState } from '../optim';
import { Rng } from '../rng';
import { buildEvalGraph, buildStepGraph } from '../step';
import { configureSessions, GraphSession, resolveSessionOptions } from './graph-session';
import { parseDevice } from './devices';
import { InferenceSession } from './inference-session';
import { TrainSession } from './train-session';

describe('TrainSession', () => {
  test('a long step runs off the main thread: timers keep firing while it computes', async () => {
    // ~25 GFLOP per step: long enough that a blocked event loop would starve the interval.
    const model = mlp({ inputSize: 1024, hidden: [1024, 1024, 1024], classesPerHead: 10, heads: 1 });
    const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' } }), initParams(model, 0));
    const batch = 1024;
    const rng = new Rng(1);
    const x = Float32Array.from({ length: batch * 1024 }, () => rng.normal());
    const y = Int32Array.from({ length: batch }, () => rng.int(10));
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      let stepTicks = 0;
      try {
        for (let s = 0; s < 3; s++) {
          const before = ticks;
          await session.step(x, y, batch, 0.01);
          stepTicks = Math.max(stepTicks, ticks - before);
        }
      } finally {
        clearInterval(timer);
      }
      expect(stepTicks).toBeGreaterThanOrEqual(3);
    } finally {
      await session.close();
    }
  }, 60_000);

  test('read() returns the updated params and state; initial arrays are not modified', async () => {
    const model = mlp({ inputSize: 4, hidden: [3], classesPerHead: 2, heads: 1 });
    const params = initParams(model, 2);
    const opt = { name: 'adam' as const };
    const initial = { ...params, ...initOptimizerState(opt, model.params) };
    const snapshot = Array.from(params['trunk.0.weight'].data);
    const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: opt }), initial);
    try {
      await session.step(new Float32Array([1, 2, 3, 4, -1, 0, 1, 2]), new Int32Array([0, 1]), 2, 0.1);
      const after = await session.read();
      expect(Object.keys(after).sort()).toEqual(Object.keys(initial).sort());
      expect(after['trunk.0.weight'].dims).toEqual([4, 3]);
      expect(Array.from(after['trunk.0.weight'].data)).not.toEqual(snapshot);
      expect(Array.from(params['trunk.0.weight'].data)).toEqual(snapshot);
      expect(Array.from(after['adam.t'].data)).toEqual([1]);
    } finally {
      await session.close();
    }
  });

  test('same inputs give the same bits, and a run resumed from read() state matches the uninterrupted run', async () => {
    const model = mlp({ inputSize: 64, hidden: [128, 64], classesPerHead: 10, heads: 1 });
    const opt = { name: 'adam' as const, weightDecay: 1e-4 };
    const step = buildStepGraph({ model, head: 0, optimizer: opt });
    const initial = { ...initParams(model, 3), ...initOptimizerState(opt, model.params) };
    const batches = Array.from({ length: 6 }, (_, i) => {
      const rng = new Rng(100 + i);
      return { x: Float32Array.from({ length: 32 * 64 }, () => rng.normal()), y: Int32Array.from({ length: 32 }, () => rng.int(10)) };
    });
    const train = async (start: typeof initial, from: number, to: number) => {
      const s = await TrainSession.create(step, start);
      for (let i = from; i < to; i++) await s.step(batches[i].x, batches[i].y, 32, 0.01);
      const out = await s.read();
      await s.close();
      return out;
    };
    const bits = (m: typeof initial) =>
      Object.keys(m)
        .sort()
        .map((k) => Array.from(new Uint32Array(m[k].data.buffer, m[k].data.byteOffset, m[k].data.length)));
    const straight = await train(initial, 0, 6);
    expect(bits(await train(initial, 0, 6))).toEqual(bits(straight));
    const resumed = await train(await train(initial, 0, 3), 3, 6);
    expect(bits(resumed)).toEqual(bits(straight));
  });

  test('missing optimizer state is named in the error', async () => {
    const model = mlp({ inputSize: 4, hidden: [3], classesPerHead: 2, heads: 1 });
    const step = buildStepGraph({ model, head: 0, optimizer: { name: 'sgd', momentum: 0.9 } });
    await expect(TrainSession.create(step, initParams(model, 0))).rejects.toThrow(/missing for m\.trunk\.0\.weight/);
  });

  test('a batch of the wrong size is rejected before it reaches onnxruntime', async () => {
    const model = mlp({ inputSize: 4, hidden: [3], classesPerHead: 2, heads: 1 });
    const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' } }), initParams(model, 0));
    try {
      await expect(session.step(new Float32Array(7), new Int32Array(2), 2, 0.1)).rejects.toThrow(/x has 7 values/);
    } finally {
      await session.close();
    }
  });
});

describe('InferenceSession and GraphSession', () => {
  test('an eval graph without its params fed is refused with the input named', async () => {
    const model = mlp({ inputSize: 4, hidden: [3], classesPerHead: 2, heads: 1 });
    await expect(InferenceSession.create(buildEvalGraph(model, 0))).rejects.toThrow(/input 'trunk\.0\.weight' is not in feedsConst/);
  });

  test('bytes that are not an ONNX model give a load error, and the session is unusable after close', async () => {
    await expect(GraphSession.create(new Uint8Array([1, 2, 3]))).rejects.toThrow(/could not load the ONNX graph/);
    const model = mlp({ inputSize: 2, hidden: [2], classesPerHead: 2, heads: 1 });
    const s = await InferenceSession.create(buildEvalGraph(model, 0), initParams(model, 0));
    const out = await s.run(new Float32Array([1, 2]), 1);
    expect(out.logits).toHaveLength(2);
    await s.close();
    await expect(s.run(new Float32Array([1, 2]), 1)).rejects.toThrow(/closed/);
  });
});

describe('execution providers', () => {
  const model = mlp({ inputSize: 2, hidden: [2], classesPerHead: 2, heads: 1 });
  // This machine has no GPU and no CUDA provider; on one that has them, the session must start.
  const cudaInstalled = existsSync(
    join(dirname(require.resolve('onnxruntime-node')), '../bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'),
  );

  test('a device that cannot start is an error that says what to install, not a CPU fallback', async () => {
    const create = (device: 'cuda' | 'webgpu') => InferenceSession.create(buildEvalGraph(model, 0), initParams(model, 0), { device });
    if (cudaInstalled) await (await create('cuda')).close();
    else await expect(create('cuda')).rejects.toThrow(/device 'cuda' is not available: .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
    await expect(create('webgpu')).rejects.toThrow(/device 'webgpu' is not available: .*Vulkan/);
  });

  test('device names are checked, and configureSessions sets the defaults of later sessions', async () => {
    expect(() => parseDevice('tpu', '--device')).toThrow("--device must be one of cpu, cuda, webgpu, got 'tpu'");
    expect(() => configureSessions({ threads: 0 })).toThrow(/sessions\.threads/);
    expect(resolveSessionOptions()).toEqual({ device: 'cpu', threads: 2, spinning: false });
    configureSessions({ threads: 1 });
    try {
      expect(resolveSessionOptions()).toEqual({ device: 'cpu', threads: 1, spinning: false });
      expect(resolveSessionOptions({ threads: 3, spinning: true })).toEqual({ device: 'cpu', threads: 3, spinning: true });
      const s = await InferenceSession.create(buildEvalGraph(model, 0), initParams(model, 0));
      expect((await s.run(new Float32Array([1, 2]), 1)).logits).toHaveLength(2);
      await s.close();
    } finally {
      configureSessions({ threads: 2 });
    }
  });
});
