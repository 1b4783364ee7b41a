import {
  buildStepGraph,
  initOptimizerState,
  initParams,
  loraA,
  loraB,
  mergeLora,
  mlp,
  paramSpec,
  Rng,
  TrainSession,
  buildEvalGraph,
  InferenceSession,
  type TensorMap,
} from '@retain/engine';
import { startAdapter, type MethodContext, type MethodTraining } from '@retain/sdk';
import { syntheticScenario } from '@retain/sdk/testing';
import { loraConfigSchema, qloraConfigSchema, type LoraConfig } from './config';
import { NF4_LEVELS, quantizedBase } from './base';
import { loraMethod, loraTraining } from './index';
import { matchesTarget, resolveTargets } from './targets';

const model = mlp({ inputSize: 6, hidden: [16], classesPerHead: 3, heads: 1 });
const scenario = syntheticScenario({ heads: 1 });
const WEIGHTS = ['trunk.0.weight', 'head.0.weight'];

function contextOf(config: Partial<LoraConfig>, taskIndex: number): MethodContext<LoraConfig> {
  return {
    config: loraConfigSchema.parse({ targets: ['trunk.0', 'head.0'], ...config }),
    seed: 4,
    taskIndex,
    task: scenario.task(taskIndex),
    model,
    head: 0,
    taskData: (i) => scenario.task(i),
  };
}

/** The params a task of `training` starts from. */
const startOf = async (training: MethodTraining, params: TensorMap) => (await startAdapter(training.adapter!, params)).params;

/** Trains `steps` SGD steps of the adapter's model from `start`, as a trainer does; returns every param after. */
async function trainTask(
  training: MethodTraining,
  start: TensorMap,
  taskIndex: number,
  steps = 5,
  adapted = training.adapter!.model,
  head = 0,
): Promise<TensorMap> {
  const optimizer = { name: 'sgd' as const, momentum: 0.9 };
  const graph = buildStepGraph({ model: adapted, head, optimizer, trainable: training.trainable });
  const session = await TrainSession.create(graph, {
    ...start,
    ...initOptimizerState(
      optimizer,
      graph.trainable.map((n) => paramSpec(adapted, n)),
    ),
  });
  try {
    const data = scenario.task(taskIndex).train;
    const indices = Int32Array.from({ length: 16 }, (_, i) => i);
    const x = data.gather(indices);
    const y = Int32Array.from(indices, (i) => data.labels[i]);
    for (let s = 0; s < steps; s++) await session.step(x, y, 16, 0.1);
    const held = await session.read();
    const after = { ...start };
    for (const n of graph.trainable) after[n] = held[n];
    return after;
  } finally {
    await session.close();
  }
}

const same = (a: TensorMap[string], b: TensorMap[string]) => Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer));

describe('lora training', () => {
  test('trains only the adapters: every base param byte-identical after the task, the adapters moved', async () => {
    const training = loraTraining(contextOf({}, 0));
    expect(training.trainable).toEqual(WEIGHTS.flatMap((w) => [loraA(w), loraB(w)]));
    const start = await startOf(training, initParams(model, 4));
    expect(start[loraB('trunk.0.weight')].data.every((v) => v === 0)).toBe(true);
    const trained = await trainTask(training, start, 0);
    for (const p of model.params) expect(same(trained[p.name], start[p.name])).toBe(true);
    for (const w of WEIGHTS) expect(trained[loraB(w)].data.some((v) => v !== 0)).toBe(true);
  });

  test("finish merges: each targeted weight moves by exactly (alpha / r) A B, the others not at all, and the adapters go ('new')", async () => {
    const training = loraTraining(contextOf({ rank: 4, alpha: 8 }, 0));
    const trained = await trainTask(training, await startOf(training, initParams(model, 4)), 0);
    const done = training.adapter!.finish(trained);
    const merged = mergeLora(trained, { weights: WEIGHTS, rank: 4, alpha: 8 });
    expect(Object.keys(done).sort()).toEqual(model.params.map((p) => p.name).sort());
    for (const w of WEIGHTS) {
      expect(same(done[w], merged[w])).toBe(true);
      expect(same(done[w], trained[w])).toBe(false);
    }
    expect(same(done['trunk.0.bias'], trained['trunk.0.bias'])).toBe(true);
    // The next task starts from the merged base with fresh adapters: B = 0 and another A.
    const next = await startOf(loraTraining(contextOf({ rank: 4, alpha: 8 }, 1)), done);
    expect(same(next['trunk.0.weight'], merged['trunk.0.weight'])).toBe(true);
    expect(next[loraB('trunk.0.weight')].data.every((v) => v === 0)).toBe(true);
    expect(same(next[loraA('trunk.0.weight')], trained[loraA('trunk.0.weight')])).toBe(false);
  });

  test("perTask 'shared' carries the trained A to the next task and restarts B at zero", async () => {
    const training = loraTraining(contextOf({ perTask: 'shared' }, 0));
    const trained = await trainTask(training, await startOf(training, initParams(model, 4)), 0);
    const done = training.adapter!.finish(trained);
    expect(Object.keys(done)).toContain(loraA('trunk.0.weight'));
    expect(Object.keys(done)).not.toContain(loraB('trunk.0.weight'));
    const next = await startOf(loraTraining(contextOf({ perTask: 'shared' }, 1)), done);
    expect(same(next[loraA('trunk.0.weight')], trained[loraA('trunk.0.weight')])).toBe(true);
    expect(next[loraB('trunk.0.weight')].data.every((v) => v === 0)).toBe(true);
  });

  test('start and finish are pure: the same inputs give the same bytes (a resumed task starts alike)', async () => {
    const params = initParams(model, 4);
    const a = await startOf(loraTraining(contextOf({}, 1)), params);
    const b = await startOf(loraTraining(contextOf({}, 1)), params);
    for (const k of Object.keys(a)) expect(same(a[k], b[k])).toBe(true);
  });
});

describe('qlora base', () => {
  const rng = new Rng(9);
  const weight = { dims: [40, 3], data: Float32Array.from({ length: 120 }, () => rng.normal()) };

  test('int4: each block of 16 rows of a column holds at most 15 levels, multiples of absmax / 7, within half a step', () => {
    const q = quantizedBase('w', weight, { grid: 'int', bits: 4, blockSize: 16 });
    for (let start = 0; start < 40; start += 16) {
      for (let c = 0; c < 3; c++) {
        const rows = Array.from({ length: Math.min(16, 40 - start) }, (_, k) => (start + k) * 3 + c);
        const step = Math.max(...rows.map((i) => Math.abs(weight.data[i]))) / 7;
        for (const i of rows) {
          expect(Math.abs(q.data[i] - weight.data[i])).toBeLessThanOrEqual(step / 2 + 1e-6);
          expect(Math.abs(q.data[i] / step - Math.round(q.data[i] / step))).toBeLessThan(1e-4);
        }
      }
    }
  });

  test('nf4: every value is an NF4 level times its block absmax, the nearest one', () => {
    const q = quantizedBase('w', weight, { grid: 'nf4', bits: 4, blockSize: 16 });
    for (let i = 0; i < 120; i++) {
      const r = Math.floor(i / 3);
      const c = i % 3;
      const block = Math.floor(r / 16) * 16;
      let absmax = 0;
      for (let k = block; k < Math.min(block + 16, 40); k++) absmax = Math.max(absmax, Math.abs(weight.data[k * 3 + c]));
      const level = q.data[i] / absmax;
      const nearest = NF4_LEVELS.reduce((best, l) =>
        Math.abs(l - weight.data[i] / absmax) < Math.abs(best - weight.data[i] / absmax) ? l : best,
      );
      expect(level).toBeCloseTo(nearest, 5);
    }
    expect(() => quantizedBase('w', weight, { grid: 'nf4', bits: 8, blockSize: 16 })).toThrow('bits: the nf4 grid has 4 bits');
  });

  test('qlora starts each task on the quantized base of the targeted weights only', async () => {
    const config = qloraConfigSchema.parse({ targets: ['trunk.0'], base: { blockSize: 4 } });
    const ctx = { ...contextOf({}, 0), config };
    const params = initParams(model, 4);
    const training = loraTraining(ctx, config.base);
    const { params: start, model: trained } = await startAdapter(training.adapter!, params);
    expect(same(start['trunk.0.weight'], quantizedBase('trunk.0.weight', params['trunk.0.weight'], config.base))).toBe(true);
    expect(same(start['trunk.0.weight'], params['trunk.0.weight'])).toBe(false);
    expect(same(start['head.0.weight'], params['head.0.weight'])).toBe(true);
    // The base is no param of the model it trains: the step graph holds it as 4-bit codes.
    expect(trained.params.map((p) => p.name)).not.toContain('trunk.0.weight');
    expect(trained.params.map((p) => p.name)).toContain('head.0.weight');
    const graph = buildStepGraph({ model: trained, head: 0, optimizer: { name: 'sgd' }, trainable: training.trainable });
    const plain = buildStepGraph({ model: training.adapter!.model, head: 0, optimizer: { name: 'sgd' }, trainable: training.trainable });
    expect(plain.paramNames).toContain('trunk.0.weight');
    expect(graph.paramNames).not.toContain('trunk.0.weight');
  });
});

describe('targets', () => {
  test('match whole dotted segments; unknown names and models without the defaults are refused with the weights listed', () => {
    expect(matchesTarget('block.0.attn.qkv.weight', 'attn.qkv')).toBe(true);
    expect(matchesTarget('block.0.attn.qkv.weight', 'attn.q')).toBe(false);
    expect(matchesTarget('trunk.10.weight', 'trunk.1')).toBe(false);
    expect(resolveTargets(model, ['trunk.0', 'attn.qkv'])).toEqual({
      problem: "'attn.qkv' matches no matrix weight of model 'mlp-6-16-3'; the model's matrix weights are trunk.0.weight, head.0.weight",
    });
    expect(resolveTargets(model, undefined)).toEqual({
      problem: expect.stringContaining(
        'has none of the default targets (attn.qkv, attn.proj, mlp.fc, mlp.gate, mlp.up, mlp.proj); list the weights',
      ),
    });
  });
});

describe('fromTask', () => {
  test('tasks before it train every parameter (merged: no adapter; kept: the base params, not the adapters); adapters start at it', () => {
    expect(loraTraining(contextOf({ fromTask: 1 }, 0))).toEqual({});
    expect(loraTraining(contextOf({ fromTask: 1 }, 1)).trainable).toEqual(WEIGHTS.flatMap((w) => [loraA(w), loraB(w)]));
    const config = loraConfigSchema.parse({ targets: ['trunk.0'], merge: false, fromTask: 1 });
    const runModel = loraMethod.transformModel!(config, model, { tasks: 3, heads: 1 } as typeof scenario);
    // Adapters for tasks 1 and 2 only.
    expect(runModel.params.filter((p) => p.name.includes('.lora.')).map((p) => p.name)).toEqual([
      'trunk.0.weight.lora.1.A',
      'trunk.0.weight.lora.1.B',
      'trunk.0.weight.lora.2.A',
      'trunk.0.weight.lora.2.B',
    ]);
    const first = loraTraining({ ...contextOf({}, 0), config, model: runModel });
    expect(first.trainable).toEqual(model.paramsForHead(0));
  });
});

describe('kept adapters (merge: false)', () => {
  const taskIL = mlp({ inputSize: 6, hidden: [16], classesPerHead: 3, heads: 2 });
  const twoHeads = syntheticScenario({ heads: 2 });
  const keptContext = (perTask: 'new' | 'shared', taskIndex: number, runModel: typeof taskIL): MethodContext<LoraConfig> => ({
    config: loraConfigSchema.parse({ targets: ['trunk.0'], merge: false, perTask }),
    seed: 4,
    taskIndex,
    task: twoHeads.task(taskIndex),
    model: runModel,
    head: taskIndex,
    taskData: (i) => twoHeads.task(i),
  });

  async function logitsOf(m: typeof taskIL, head: number, params: TensorMap): Promise<Float32Array> {
    const session = await InferenceSession.create(buildEvalGraph(m, head), params);
    try {
      const data = twoHeads.task(0).test;
      return (await session.run(data.gather(Int32Array.from({ length: 8 }, (_, i) => i)), 8)).logits;
    } finally {
      await session.close();
    }
  }

  test("perTask 'new' with a head per task: task t trains adapter t only, so task 0's head computes the same after task 1 (LoRA as a progressive network)", async () => {
    const runModel = loraMethod.transformModel!(keptContext('new', 0, taskIL).config, taskIL, twoHeads);
    expect(runModel.paramsForHead(1)).toContain('trunk.0.weight.lora.1.A');
    expect(runModel.paramsForHead(1)).not.toContain('trunk.0.weight.lora.0.A');
    let params = initParams(runModel, 4);
    const first = loraTraining(keptContext('new', 0, runModel));
    expect(first.trainable).toEqual(['trunk.0.weight.lora.0.A', 'trunk.0.weight.lora.0.B']);
    expect(first.adapter).toBeUndefined();
    params = await trainTask(first, params, 0, 5, runModel, 0);
    const afterFirst = await logitsOf(runModel, 0, params);
    const second = loraTraining(keptContext('new', 1, runModel));
    expect(second.trainable).toEqual(['trunk.0.weight.lora.1.A', 'trunk.0.weight.lora.1.B']);
    params = await trainTask(second, params, 1, 5, runModel, 1);
    expect(params['trunk.0.weight.lora.1.B'].data.some((v) => v !== 0)).toBe(true);
    expect(Array.from(await logitsOf(runModel, 0, params))).toEqual(Array.from(afterFirst));
  });

  test("perTask 'shared': one adapter, every task trains it; the base never moves", async () => {
    const runModel = loraMethod.transformModel!(keptContext('shared', 0, taskIL).config, taskIL, twoHeads);
    expect(runModel.params.filter((p) => p.name.includes('.lora.')).map((p) => p.name)).toEqual([
      'trunk.0.weight.lora.A',
      'trunk.0.weight.lora.B',
    ]);
    const start = initParams(runModel, 4);
    const training = loraTraining(keptContext('shared', 1, runModel));
    expect(training.trainable).toEqual(['trunk.0.weight.lora.A', 'trunk.0.weight.lora.B']);
    const trained = await trainTask(training, start, 1, 5, runModel, 1);
    for (const p of taskIL.params) expect(same(trained[p.name], start[p.name])).toBe(true);
  });
});
