import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initParams, mlp } from '../models';
import { initOptimizerState } from '../optim';
import { Rng } from '../rng';
import { buildEvalGraph, buildStepGraph } from '../step';
import { configureSessions, GraphSession, resolveSessionOptions } from './graph-session';
import {
  CUDA_PROVIDER_FILE,
  cudaDeviceId,
  deviceKind,
  executionProvider,
  onnxruntimeBinDir,
  parseDevice,
  unresolvedLibraries,
  type Device,
} from './devices';
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

describe('run traffic', () => {
  test('a K-step run feeds the params once and K batches, and takes the params back once', async () => {
    const model = mlp({ inputSize: 4, hidden: [3], classesPerHead: 2, heads: 1 });
    const params = initParams(model, 0);
    const paramBytes = Object.values(params).reduce((n, t) => n + t.data.byteLength, 0);
    const spec = { model, head: 0, optimizer: { name: 'sgd' as const } };
    const session = await TrainSession.create([buildStepGraph(spec), buildStepGraph({ ...spec, stepsPerRun: 4 })], params);
    try {
      const x = Float32Array.from({ length: 4 * 2 * 4 }, (_, i) => (i % 7) / 7);
      const y = Int32Array.from({ length: 4 * 2 }, (_, i) => i % 2);
      await session.step(x.subarray(0, 8), y.subarray(0, 2), 2, 0.1);
      const one = await session.traffic();
      const batchBytes = one.bytesIn - paramBytes; // x, y and the learning rate of one step
      expect(batchBytes).toBeGreaterThanOrEqual(8 * 4 + 2 * 4);
      expect(one).toEqual({ runs: 1, bytesIn: paramBytes + batchBytes, bytesOut: paramBytes + 4 });
      await session.steps(x, y, 2, [0.1, 0.1, 0.1, 0.1]);
      const both = await session.traffic();
      expect(both).toEqual({ runs: 2, bytesIn: one.bytesIn + paramBytes + 4 * batchBytes, bytesOut: one.bytesOut + paramBytes + 4 * 4 });
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
  const create = (device: Device) => InferenceSession.create(buildEvalGraph(model, 0), initParams(model, 0), { device });
  // What this machine has decides what a CUDA session must do: start (a GPU and its driver), fail
  // naming the driver (the provider installed by `infra/setup.sh --gpu`, no driver: CI), or fail
  // naming the install command (no provider).
  const provider = join(onnxruntimeBinDir(), CUDA_PROVIDER_FILE);
  const cudaState = !existsSync(provider)
    ? 'not installed'
    : unresolvedLibraries(provider).includes('libcuda.so.1')
      ? 'no driver'
      : 'usable';

  test(`a CUDA session ${cudaState === 'usable' ? 'starts' : `fails, saying why (provider ${cudaState}), instead of falling back to the CPU`}`, async () => {
    if (cudaState === 'usable') {
      const s = await create('cuda:0');
      expect((await s.run(new Float32Array([1, 2]), 1)).logits).toHaveLength(2);
      await s.close();
    } else if (cudaState === 'no driver') {
      await expect(create('cuda')).rejects.toThrow(
        /device 'cuda' is not available: this machine has no NVIDIA driver: .*libcuda\.so\.1.*nvidia-smi/,
      );
    } else {
      await expect(create('cuda:1')).rejects.toThrow(
        /device 'cuda:1' is not available: onnxruntime-node's CUDA provider is not installed .*bash infra\/setup\.sh --gpu/,
      );
    }
  });

  // WebGPU runs through Vulkan: without a GPU's Vulkan driver (its ICD manifest) there is no adapter.
  const vulkanDriver =
    ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'].some(
      (dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json')),
    ) || Boolean(process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES);
  const onAdapter = vulkanDriver ? test : test.skip;
  const withoutAdapter = vulkanDriver ? test.skip : test;

  onAdapter(
    `WebGPU computes what the CPU computes${vulkanDriver ? '' : ' (skipped: no Vulkan GPU driver here, so no WebGPU adapter)'}`,
    async () => {
      const x = new Float32Array([0.5, -1.5]);
      const [cpu, gpu] = await Promise.all([create('cpu'), create('webgpu')]);
      try {
        const [a, b] = [await cpu.run(x, 1), await gpu.run(x, 1)];
        Array.from(a.logits).forEach((v, i) => expect(b.logits[i]).toBeCloseTo(v, 5));
      } finally {
        await Promise.all([cpu.close(), gpu.close()]);
      }
    },
  );

  withoutAdapter(
    `without a WebGPU adapter, a WebGPU session is an error naming Vulkan${vulkanDriver ? ' (skipped: this machine has a Vulkan driver)' : ''}`,
    async () => {
      await expect(create('webgpu')).rejects.toThrow(/device 'webgpu' is not available: .*Vulkan/);
    },
  );

  test('device names are checked (cuda:N included), and configureSessions sets the defaults of later sessions', async () => {
    expect(() => parseDevice('tpu', '--device')).toThrow(
      "--device must be one of cpu, cuda, cuda:N (the N-th visible GPU), webgpu, got 'tpu'",
    );
    for (const bad of ['cuda:', 'cuda:-1', 'cuda:01', 'cuda:1.5', 'cuda0']) expect(() => parseDevice(bad)).toThrow(/must be one of/);
    expect(parseDevice('cuda:3')).toBe('cuda:3');
    expect([cudaDeviceId('cuda'), cudaDeviceId('cuda:3'), deviceKind('cuda:3'), deviceKind('webgpu')]).toEqual([0, 3, 'cuda', 'webgpu']);
    expect(executionProvider('cuda:3')).toEqual({ name: 'cuda', deviceId: 3 });
    expect(executionProvider('cpu')).toBe('cpu');
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
