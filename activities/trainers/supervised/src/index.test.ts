import {
  add,
  buildInferenceModel,
  InferenceSession,
  initParams,
  mlp,
  mul,
  scale,
  square,
  sub,
  sum,
  TrainSession,
  type Model,
  type TensorMap,
  type Value,
} from '@retain/engine';
import { permutedScenario, splitScenario, type Scenario, type TaskData } from '@retain/data';
import {
  PluginError,
  type MethodTraining,
  type TrainCheckpoint,
  type TrainContext,
  type TrainOutcome,
  type TrainProgress,
} from '@retain/sdk';
import { supervisedConfigSchema, supervisedTrainer, trainSupervised, type SupervisedConfig } from './index';

// Real Fashion-MNIST, real ONNX step graphs: each training run below takes well under a second,
// loading the dataset a few seconds.
jest.setTimeout(60_000);

const SCENARIO_SEED = 7;
const INIT_SEED = 1;

let permuted: Scenario;
let model: Model;
let initial: TensorMap;

beforeAll(async () => {
  permuted = await permutedScenario({ tasks: 1, trainPerTask: 2000, testPerTask: 500 }, SCENARIO_SEED);
  model = mlp({ inputSize: 784, hidden: [64], classesPerHead: 10, heads: 1 });
  initial = initParams(model, INIT_SEED);
});

interface Run {
  progress: TrainProgress[];
  outcome: Promise<TrainOutcome>;
}

/** Trains with a real context; `config` goes through the plugin's schema so defaults apply as in a spec. */
function train(config: unknown, over: Partial<TrainContext<SupervisedConfig>> = {}): Run {
  const progress: TrainProgress[] = [];
  const outcome = trainSupervised({
    config: supervisedConfigSchema.parse(config),
    seed: 3,
    taskIndex: 0,
    task: permuted.task(0),
    model,
    head: 0,
    params: initial,
    method: {},
    progress: (p) => progress.push(p),
    signal: new AbortController().signal,
    ...over,
  });
  return { progress, outcome };
}

/** Test-set accuracy through the exported inference model of one head. */
async function accuracy(m: Model, head: number, params: TensorMap, task: TaskData): Promise<number> {
  const session = await InferenceSession.create(buildInferenceModel(m, head, params));
  try {
    const n = task.test.n;
    const x = task.test.gather(Int32Array.from({ length: n }, (_, i) => i));
    const { logits } = await session.run(x, n);
    const k = logits.length / n;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.subarray(i * k, (i + 1) * k));
      if (row.indexOf(Math.max(...row)) === task.test.labels[i]) correct++;
    }
    return correct / n;
  } finally {
    await session.close();
  }
}

const bits = (t: { data: Float32Array }) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const sameBits = (a: { data: Float32Array }, b: { data: Float32Array }) => bits(a).equals(bits(b));
const copy = (m: TensorMap): TensorMap =>
  Object.fromEntries(Object.entries(m).map(([k, t]) => [k, { dims: [...t.dims], data: t.data.slice() }]));

describe('trainSupervised', () => {
  test('SGD lowers the loss and lifts test accuracy, reporting progress up to the last step', async () => {
    // One step per run, so that progress (reported after each run) starts at step 1.
    const { progress, outcome } = train({ epochs: 2, stepsPerRun: 1 });
    const out = await outcome;
    // 2000 samples / batch 128 = 16 steps per epoch.
    expect(out.steps).toBe(32);
    expect(out.samples).toBe(4000);
    expect(out.seconds).toBeGreaterThan(0);

    // Measured (seed 7 scenario, init seed 1, seed 3): first batch loss 3.68, final batch loss
    // 0.61; test accuracy 0.098 before, 0.798 after. Bounds leave room for float differences.
    const first = progress[0].loss;
    expect(progress[0].step).toBe(1);
    expect(first).toBeGreaterThan(2);
    expect(out.finalLoss).toBeLessThan(first / 2);
    expect(progress[progress.length - 1]).toMatchObject({ step: 32, totalSteps: 32, epoch: 1, loss: out.finalLoss });
    for (const p of progress) expect(p.samplesPerSec).toBeGreaterThan(0);

    const task = permuted.task(0);
    expect(await accuracy(model, 0, initial, task)).toBeLessThan(0.2);
    expect(await accuracy(model, 0, out.params, task)).toBeGreaterThan(0.65);
  });

  test('steps overrides epochs and keeps cycling through the data, counting every sample', async () => {
    // 2000 samples in batches of 300: 7 steps per epoch, the 7th of 200 samples.
    // Step 8 is the first batch of epoch 1: 6 * 300 + 200 + 300 samples.
    const { progress, outcome } = train({ epochs: 5, steps: 8, batchSize: 300 });
    const out = await outcome;
    expect(out.steps).toBe(8);
    expect(out.samples).toBe(2300);
    // No method adds samples: the task's own samples are all of them, and not reported apart.
    expect(out.newSamples).toBeUndefined();
    expect(progress[progress.length - 1]).toMatchObject({ step: 8, totalSteps: 8, epoch: 1 });

    const byEpochs = await train({ epochs: 3, batchSize: 300 }).outcome;
    expect(byEpochs.steps).toBe(21);
    expect(byEpochs.samples).toBe(6000);
  });

  test('the same seed gives bit-identical parameters, another seed different ones; the input is left alone', async () => {
    const before = copy(initial);
    const a = await train({ epochs: 1 }).outcome;
    const b = await train({ epochs: 1 }).outcome;
    const other = await train({ epochs: 1 }, { seed: 4 }).outcome;

    expect(Object.keys(a.params).sort()).toEqual(model.params.map((p) => p.name).sort());
    for (const name of Object.keys(a.params)) expect(sameBits(a.params[name], b.params[name])).toBe(true);
    expect(a.finalLoss).toBe(b.finalLoss);
    // The seed picks the batch order, so every weight matrix ends elsewhere.
    expect(sameBits(a.params['trunk.0.weight'], other.params['trunk.0.weight'])).toBe(false);
    expect(sameBits(a.params['head.0.weight'], other.params['head.0.weight'])).toBe(false);
    // Training returns new tensors; the caller's checkpoint is not written to.
    for (const name of Object.keys(initial)) expect(sameBits(initial[name], before[name])).toBe(true);
  });

  describe('with a head per task (split task-IL)', () => {
    let split: Scenario;
    let multi: Model;
    let multiInitial: TensorMap;

    beforeAll(async () => {
      split = await splitScenario({ tasks: 5, mode: 'task-il', trainPerTask: 1000, testPerTask: 200 }, SCENARIO_SEED);
      multi = mlp({ inputSize: 784, hidden: [32], classesPerHead: split.classesPerHead, heads: split.heads });
      multiInitial = initParams(multi, INIT_SEED);
    });

    test('trains only the trunk and the task head; the other heads stay bit-identical', async () => {
      const out = await train({ epochs: 1 }, { model: multi, params: multiInitial, task: split.task(2), taskIndex: 2, head: 2 }).outcome;
      expect(Object.keys(out.params).sort()).toEqual(Object.keys(multiInitial).sort());
      const trained = multi.paramsForHead(2);
      expect(trained).toEqual(['trunk.0.weight', 'trunk.0.bias', 'head.2.weight', 'head.2.bias']);
      for (const name of Object.keys(multiInitial)) {
        expect({ name, changed: !sameBits(out.params[name], multiInitial[name]) }).toEqual({ name, changed: trained.includes(name) });
      }
      // The trained head learned its two classes (measured 0.505 before, 0.985 after one epoch; 0.5 is chance).
      expect(await accuracy(multi, 2, out.params, split.task(2))).toBeGreaterThan(0.9);
    });

    test('a diverging loss fails with a PluginError naming the task and the step', async () => {
      const run = train(
        { lr: 1e6, optimizer: { name: 'sgd', momentum: 0 } },
        { model: multi, params: multiInitial, task: split.task(3), taskIndex: 3, head: 3 },
      );
      const err = await run.outcome.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PluginError);
      const failure = err as PluginError;
      expect(failure.message).toMatch(/^trainer supervised \(task 3, step \d+\): loss became (NaN|-?Infinity); lower the learning rate/);
      expect(failure.message).toContain('trainer.config.lr = 1000000');
      // Measured: the loss is NaN at step 3 (0-based) with this seed.
      expect(failure.where.task).toBe(3);
      expect(failure.where.step).toBeGreaterThan(0);
    });
  });

  test('a signal aborted before the start trains nothing', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by the test');
    controller.abort(reason);
    const run = train({ epochs: 1 }, { signal: controller.signal });
    await expect(run.outcome).rejects.toBe(reason);
    expect(run.progress).toHaveLength(0);
  });

  test('aborting during training stops at the next step', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled mid-task');
    const progress: TrainProgress[] = [];
    const run = train(
      { epochs: 5, stepsPerRun: 1 },
      {
        signal: controller.signal,
        // The first report comes after step 1; abort there, 79 steps before the end.
        progress: (p) => {
          progress.push(p);
          controller.abort(reason);
        },
      },
    );
    await expect(run.outcome).rejects.toBe(reason);
    expect(progress).toHaveLength(1);
    expect(progress[0]).toMatchObject({ step: 1, totalSteps: 80 });
  });

  describe('checkpoints', () => {
    // Adam (moments + step counter as state) over 2 epochs of 16 steps: a resume must restore the
    // state tensors and find its place in the second epoch's data order.
    const config = { epochs: 2, lr: 1e-3, optimizer: 'adam', checkpointEvery: 5, checkpointSeconds: 0 };

    test('a task resumed from a mid-task checkpoint ends with the same bits as the uninterrupted task', async () => {
      const checkpoints: TrainCheckpoint[] = [];
      const straight = await train(config, { checkpoint: async (c) => void checkpoints.push(c) }).outcome;
      // Every 5 steps, never at the end (the task's result is the end): 5, 10, ..., 30 of 32.
      expect(checkpoints.map((c) => c.step)).toEqual([5, 10, 15, 20, 25, 30]);
      expect(Object.keys(checkpoints[0].tensors).sort()).toEqual(
        expect.arrayContaining(['trunk.0.weight', 'head.0.bias', 'adam.t', 'm.trunk.0.weight', 'v.trunk.0.weight']),
      );
      // Resume inside epoch 0 (step 10) and inside epoch 1 (step 20, 4 steps past the epoch boundary).
      for (const from of [checkpoints[1], checkpoints[3]]) {
        const progress: TrainProgress[] = [];
        const resumed = await train(config, { resume: from, progress: (p) => progress.push(p) }).outcome;
        expect(progress[0].step).toBeGreaterThan(from.step); // it did not start over
        expect(resumed.steps).toBe(straight.steps);
        expect(resumed.samples).toBe(straight.samples);
        expect(resumed.finalLoss).toBe(straight.finalLoss);
        for (const name of Object.keys(straight.params)) expect(sameBits(resumed.params[name], straight.params[name])).toBe(true);
      }
    });

    test('an aborted task saves a checkpoint of where it stopped', async () => {
      const controller = new AbortController();
      const checkpoints: TrainCheckpoint[] = [];
      const run = train(
        { ...config, checkpointEvery: undefined, stepsPerRun: 1 },
        {
          signal: controller.signal,
          progress: () => controller.abort(new Error('paused')),
          checkpoint: async (c) => void checkpoints.push(c),
        },
      );
      await expect(run.outcome).rejects.toThrow('paused');
      expect(checkpoints.map((c) => c.step)).toEqual([1]);
      const straight = await train(config).outcome;
      const resumed = await train(config, { resume: checkpoints[0] }).outcome;
      expect(sameBits(resumed.params['trunk.0.weight'], straight.params['trunk.0.weight'])).toBe(true);
    });

    test('a checkpoint past the end of the task is refused', async () => {
      const c: TrainCheckpoint = { step: 33, tensors: {}, samples: 0, loss: 0 };
      await expect(train(config, { resume: c }).outcome).rejects.toThrow('cannot resume at step 33: this task has 32 steps');
    });
  });

  test('Adam trains too, to different parameters than SGD', async () => {
    const { progress, outcome } = train({ epochs: 2, lr: 1e-3, optimizer: 'adam' });
    const out = await outcome;
    // Measured: first batch loss 3.68, final 0.58; test accuracy 0.76.
    expect(out.finalLoss).toBeLessThan(progress[0].loss / 2);
    expect(await accuracy(model, 0, out.params, permuted.task(0))).toBeGreaterThan(0.65);
    const sgd = await train({ epochs: 2, lr: 1e-3 }).outcome;
    expect(sameBits(out.params['trunk.0.weight'], sgd.params['trunk.0.weight'])).toBe(false);
  });

  test('mixedPrecision fp16 reaches the step graph; on the CPU, whose MatMul multiplies float16 in float32, it trains as float32 does', async () => {
    const plain = await train({ epochs: 1, lr: 1e-3, optimizer: 'adam' }).outcome;
    const half = await train({ epochs: 1, lr: 1e-3, optimizer: 'adam', mixedPrecision: 'fp16' }).outcome;
    // Measured: weights within 1.5e-8 and the same final loss (onnxruntime drops the casts; where
    // they stop a fusion inside Scan, the sums round once differently), where float16 products
    // would move them by about 1e-3.
    const [a, b] = [half.params['trunk.0.weight'].data, plain.params['trunk.0.weight'].data];
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-6);
    expect(Math.abs(half.finalLoss - plain.finalLoss)).toBeLessThan(1e-6);
    // bf16 has no CPU MatMul: the session refuses the graph, which shows the flag took effect.
    await expect(train({ epochs: 1, lr: 1e-3, optimizer: 'adam', mixedPrecision: 'bf16' }).outcome).rejects.toThrow(/MatMul/);
  });

  test('the config schema fills defaults and rejects unknown optimizers', () => {
    expect(supervisedConfigSchema.parse({})).toEqual({
      epochs: 1,
      batchSize: 128,
      lr: 0.05,
      schedule: { name: 'constant', warmupSteps: 0 },
      checkpointSeconds: 5,
      stepsPerRun: 8,
      mixedPrecision: 'off',
      lossScale: 1024,
      optimizer: { name: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 0 },
    });
    expect(supervisedConfigSchema.safeParse({ mixedPrecision: 'fp8' }).success).toBe(false);
    expect(supervisedConfigSchema.parse({ optimizer: 'adam' }).optimizer).toEqual({
      name: 'adam',
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
    });
    expect(supervisedConfigSchema.parse({ optimizer: 'adamw' }).optimizer).toMatchObject({ name: 'adamw', weightDecay: 0.01 });
    expect(supervisedConfigSchema.parse({ schedule: { name: 'cosine', warmupSteps: 10 } }).schedule).toEqual({
      name: 'cosine',
      minLr: 0,
      warmupSteps: 10,
    });
    expect(supervisedConfigSchema.safeParse({ schedule: { name: 'step' } }).success).toBe(false);
    expect(supervisedConfigSchema.safeParse({ optimizer: { name: 'sgd', maxGradNorm: 0 } }).success).toBe(false);
    expect(supervisedConfigSchema.safeParse({ optimizer: 'rmsprop' }).success).toBe(false);
    expect(supervisedConfigSchema.safeParse({ lr: 0 }).success).toBe(false);
    expect(supervisedConfigSchema.safeParse({ stepsPerRun: 0 }).success).toBe(false);
  });

  describe('K steps per graph run (stepsPerRun)', () => {
    // 2000 samples in batches of 300: 7 steps per epoch, the 7th of 200 samples; 2 epochs, 14 steps.
    // With K = 4: steps 0-3 in one run, 4-6 single (step 6 is short), 7-10 in one run, 11-13 single
    // (the tail).
    const base = { epochs: 2, batchSize: 300, checkpointSeconds: 0 };
    let runs: jest.SpyInstance;
    beforeEach(() => (runs = jest.spyOn(TrainSession.prototype, 'steps')));
    afterEach(() => runs.mockRestore());

    const expectSameBits = (a: TrainOutcome, b: TrainOutcome) => {
      expect(Object.keys(b.params).sort()).toEqual(Object.keys(a.params).sort());
      for (const name of Object.keys(a.params))
        expect({ name, same: sameBits(b.params[name], a.params[name]) }).toEqual({ name, same: true });
      expect(b.finalLoss).toBe(a.finalLoss);
      expect(b.samples).toBe(a.samples);
      expect(b.steps).toBe(a.steps);
    };

    test.each([
      [
        'sgd, nesterov momentum, weight decay, cosine schedule',
        { optimizer: { name: 'sgd', nesterov: true, weightDecay: 1e-4 }, schedule: 'cosine' },
      ],
      ['adam', { optimizer: 'adam', lr: 1e-3 }],
    ])('%s: K = 4 ends with the bits of one step per run, a short last batch and a tail included', async (_name, config) => {
      const one = await train({ ...base, ...config, stepsPerRun: 1 }).outcome;
      expect(runs).not.toHaveBeenCalled();
      const progress: TrainProgress[] = [];
      const four = await train({ ...base, ...config, stepsPerRun: 4 }, { progress: (p) => progress.push(p) }).outcome;
      expect(runs.mock.calls.map((c) => c[3].length)).toEqual([4, 4]);
      expectSameBits(one, four);
      expect(progress[progress.length - 1]).toMatchObject({ step: 14, totalSteps: 14, epoch: 1, loss: four.finalLoss });
    });

    test('checkpoints fall between runs: the same steps and bits as one step per run, and a K-step resume ends alike', async () => {
      // Adam, 16 steps per epoch (the 16th of 80 samples), checkpoints every 5 steps, K = 3:
      // runs never cross a multiple of 5.
      const config = { epochs: 2, lr: 1e-3, optimizer: 'adam', checkpointEvery: 5, checkpointSeconds: 0 };
      const [ones, threes]: TrainCheckpoint[][] = [[], []];
      const straight = await train({ ...config, stepsPerRun: 1 }, { checkpoint: async (c) => void ones.push(c) }).outcome;
      const fused = await train({ ...config, stepsPerRun: 3 }, { checkpoint: async (c) => void threes.push(c) }).outcome;
      expect(runs.mock.calls.length).toBeGreaterThan(3);
      expectSameBits(straight, fused);
      expect(threes.map((c) => c.step)).toEqual([5, 10, 15, 20, 25, 30]);
      threes.forEach((c, i) => {
        expect({ step: c.step, samples: c.samples, loss: c.loss }).toEqual({
          step: ones[i].step,
          samples: ones[i].samples,
          loss: ones[i].loss,
        });
        for (const name of Object.keys(ones[i].tensors)) expect(sameBits(c.tensors[name], ones[i].tensors[name])).toBe(true);
      });
      // Resume a K-step task from a one-step task's checkpoint inside epoch 1, and the other way round.
      expectSameBits(straight, await train({ ...config, stepsPerRun: 3 }, { resume: ones[3] }).outcome);
      expectSameBits(straight, await train({ ...config, stepsPerRun: 1 }, { resume: threes[2] }).outcome);
    });

    test('an abort stops at the end of the current run and saves a checkpoint there', async () => {
      const controller = new AbortController();
      const checkpoints: TrainCheckpoint[] = [];
      const config = { epochs: 2, lr: 1e-3, optimizer: 'adam', checkpointSeconds: 0, stepsPerRun: 4 };
      const run = train(config, {
        signal: controller.signal,
        progress: () => controller.abort(new Error('paused')),
        checkpoint: async (c) => void checkpoints.push(c),
      });
      await expect(run.outcome).rejects.toThrow('paused');
      expect(checkpoints.map((c) => c.step)).toEqual([4]);
      const straight = await train({ ...config, stepsPerRun: 1 }).outcome;
      expectSameBits(straight, await train(config, { resume: checkpoints[0] }).outcome);
    });

    describe('with a method in the step and a batch source', () => {
      /**
       * Every hook a method may add: an EWC-like penalty (constants + lossTerm), an SI-like path
       * integral (state), an A-GEM-like gradient transform over a memory batch (batch inputs), and
       * a replay-like batch source that appends 8 memory samples to each batch (7 on odd steps when
       * `unevenSizes`, so that no K batches share a size).
       */
      function everyHook(unevenSizes: boolean): MethodTraining {
        const train0 = permuted.task(0).train;
        const memoryIdx = Int32Array.from({ length: 32 }, (_, i) => 1000 + i);
        const memoryX = train0.gather(memoryIdx);
        const memoryY = Int32Array.from(memoryIdx, (i) => train0.labels[i]);
        const bias = 'head.0.bias';
        return {
          step: {
            constants: { 'ewc.anchor': [10], 'ewc.lambda': [] },
            state: { 'si.path': [10] },
            batchInputs: { 'agem.x': { dims: ['M', 784], dtype: 'float32' }, 'agem.y': { dims: ['M'], dtype: 'int64' } },
            lossTerm: ({ params, inputs }) => mul(sum(square(sub(params[bias], inputs['ewc.anchor']))), inputs['ewc.lambda']),
            gradientTransform: ({ grads, inputs, lossGradients }) => {
              const memory = lossGradients(inputs['agem.x'], inputs['agem.y']);
              return Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, add(g, scale(memory[n], 0.1))]));
            },
            stateUpdate: ({ inputs, taskGrads, params, updated }) => ({
              'si.path': add(inputs['si.path'], mul(taskGrads[bias], sub(params[bias], updated[bias]))),
            }),
          },
          tensors: {
            'ewc.anchor': { dims: [10], data: initial[bias].data.map((v) => v + 0.1) },
            'ewc.lambda': { dims: [], data: new Float32Array([0.5]) },
            'si.path': { dims: [10], data: new Float32Array(10) },
          },
          batches: (s, current) => {
            const extra = unevenSizes && s % 2 === 1 ? 7 : 8;
            const from = (s * 8) % 24;
            const size = current.size + extra;
            const x = new Float32Array(size * 784);
            x.set(current.x.subarray(0, current.size * 784));
            x.set(memoryX.subarray(from * 784, (from + extra) * 784), current.size * 784);
            const y = new Int32Array(size);
            y.set(current.y.subarray(0, current.size));
            y.set(memoryY.subarray(from, from + extra), current.size);
            const m = (s * 4) % 16;
            const feeds: Record<string, Value> = {
              'agem.x': { dtype: 'float32', dims: [16, 784], data: memoryX.slice(m * 784, (m + 16) * 784) },
              'agem.y': { dtype: 'int64', dims: [16], data: BigInt64Array.from(memoryY.subarray(m, m + 16), BigInt) },
            };
            return { batch: { x, y, size }, feeds };
          },
        };
      }

      test.each([
        ['batches of one size: K-step runs', false, [4, 4]],
        ['batch sizes that differ from step to step: single steps only', true, []],
      ])('%s, with the bits of one step per run', async (_name, uneven, kRuns) => {
        const one = await train({ ...base, stepsPerRun: 1 }, { method: everyHook(uneven) }).outcome;
        const four = await train({ ...base, stepsPerRun: 4 }, { method: everyHook(uneven) }).outcome;
        expect(runs.mock.calls.map((c) => c[3].length)).toEqual(kRuns);
        expectSameBits(one, four);
        expect(four.samples).toBe(4000 + (uneven ? 7 * 7 + 8 * 7 : 8 * 14));
        // The task's own samples apart: 2 epochs of the 2,000, whatever the method added.
        expect(four.newSamples).toBe(4000);
        expect(one.newSamples).toBe(4000);
        expect(Object.keys(four.methodState!)).toEqual(['si.path']);
        expect(four.methodState!['si.path'].data.some((v) => v !== 0)).toBe(true);
        expect(sameBits(four.methodState!['si.path'], one.methodState!['si.path'])).toBe(true);
      });
    });
  });
});

describe('updateRule (what methods check their curvature against)', () => {
  const rule = (config: unknown) => supervisedTrainer.updateRule!(supervisedConfigSchema.parse(config));
  it('SGD is heavy-ball with its momentum, Nesterov flag and weight decay; Adam and a clipped norm are bounded', () => {
    expect(rule({ lr: 0.03, optimizer: { name: 'sgd', momentum: 0 } })).toEqual({
      kind: 'heavy-ball',
      lr: 0.03,
      momentum: 0,
      nesterov: false,
      weightDecay: 0,
    });
    expect(rule({ lr: 0.1, optimizer: { name: 'sgd', nesterov: true, weightDecay: 0.01 } })).toEqual({
      kind: 'heavy-ball',
      lr: 0.1,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 0.01,
    });
    expect(rule({ lr: 0.001, optimizer: 'adam' })).toMatchObject({ kind: 'bounded', lr: 0.001, reason: expect.stringMatching(/adam/) });
    expect(rule({ optimizer: { name: 'sgd', maxGradNorm: 1 } })).toMatchObject({
      kind: 'bounded',
      reason: expect.stringMatching(/maxGradNorm 1/),
    });
  });
});
