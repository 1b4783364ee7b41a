import { buildStepGraph, initParams, mlp, TrainSession, type StepMethod, type TensorMap, type Value } from '@retain/engine';
import type { MethodTraining } from '@retain/sdk';
import { agemMethod, agemProjection, MEMORY_X, MEMORY_Y } from './index';

const model = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 1 });
const params = initParams(model, 8);
const names = model.paramsForHead(0);

/** The update direction of one plain SGD step with lr = 1, i.e. the gradient the optimizer used. */
async function usedGradient(x: Float32Array, y: Int32Array, method?: StepMethod, feeds: Record<string, Value> = {}) {
  const session = await TrainSession.create(buildStepGraph({ model, head: 0, optimizer: { name: 'sgd' }, method }), params);
  try {
    await session.step(x, y, y.length, 1, feeds);
    const after = await session.read();
    return names.flatMap((p) => Array.from(params[p].data, (v, i) => v - after[p].data[i]));
  } finally {
    await session.close();
  }
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const memoryFeeds = (x: Float32Array, y: Int32Array): Record<string, Value> => ({
  [MEMORY_X]: { dtype: 'float32', dims: [y.length, 3], data: x },
  [MEMORY_Y]: { dtype: 'int64', dims: [y.length], data: BigInt64Array.from(y, (v) => BigInt(v)) },
});

describe('A-GEM projection in the step graph', () => {
  const x = Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3, -2, 1, 0.1, 0.3, 0.3, -0.7]);
  const y = Int32Array.from([0, 1, 2, 1]);

  it('projects a conflicting gradient so its dot product with the reference is zero', async () => {
    const ym = Int32Array.from([2, 0, 1, 0]); // the same inputs with other labels: the gradients conflict
    const g = await usedGradient(x, y);
    const r = await usedGradient(x, ym);
    expect(dot(g, r)).toBeLessThan(-0.01);
    const projected = await usedGradient(x, y, agemProjection([3]), memoryFeeds(x, ym));
    expect(dot(projected, r)).toBeGreaterThanOrEqual(-1e-5);
    expect(Math.abs(dot(projected, r))).toBeLessThan(1e-5);
    const c = dot(g, r) / dot(r, r);
    projected.forEach((v, i) => expect(v).toBeCloseTo(g[i] - c * r[i], 5));
  });

  it('leaves a gradient that agrees with the reference unchanged', async () => {
    const g = await usedGradient(x, y);
    const same = await usedGradient(x, y, agemProjection([3]), memoryFeeds(x.slice(0, 6), y.slice(0, 2)));
    const r = await usedGradient(x.slice(0, 6), y.slice(0, 2));
    expect(dot(g, r)).toBeGreaterThan(0);
    same.forEach((v, i) => expect(v).toBeCloseTo(g[i], 6));
  });
});

describe('agem method', () => {
  it('needs memory to project: nothing on the first task', () => {
    const task = { train: { inputDims: [3] } };
    expect(
      agemMethod.training({ config: agemMethod.configSchema.parse({}), model: { heads: 1 }, task, state: undefined } as never),
    ).toEqual({});
    const state: TensorMap = {
      'agem.memory.x': { dims: [2, 3], data: new Float32Array(6) },
      'agem.memory.y': { dims: [2], data: new Float32Array(2) },
      'agem.memory.seen': { dims: [2], data: Float32Array.from([2, 2]) },
    };
    const training = agemMethod.training({
      config: agemMethod.configSchema.parse({}),
      model: { heads: 1 },
      task,
      state,
      seed: 1,
      taskIndex: 1,
    } as never);
    const feeds = training.batches!(0, { x: new Float32Array(3), y: new Int32Array(1), size: 1 }).feeds!;
    expect(feeds[MEMORY_X].dims).toEqual([2, 3]); // min(memoryBatch, memory size)
  });

  it("cycles through its memory by default (measured, README.md); 'with-replacement' draws as before", () => {
    expect(agemMethod.configSchema.parse({})).toEqual({ memorySize: 500, memoryBatch: 256, sampling: 'cycle' });
    // A memory of 10 rows, row r holding the value r; 5 a step: steps 0 and 1 are one pass.
    const state: TensorMap = {
      'agem.memory.x': { dims: [10, 3], data: Float32Array.from({ length: 30 }, (_, i) => Math.floor(i / 3)) },
      'agem.memory.y': { dims: [10], data: new Float32Array(10) },
      'agem.memory.seen': { dims: [2], data: Float32Array.from([10, 10]) },
    };
    const rows = (config: object) => {
      const training = agemMethod.training({
        config: agemMethod.configSchema.parse({ memoryBatch: 5, ...config }),
        model: { heads: 1 },
        task: { train: { inputDims: [3] } },
        state,
        seed: 1,
        taskIndex: 1,
      } as never) as MethodTraining;
      return [0, 1].flatMap((step) => {
        const x = training.batches!(step, { x: new Float32Array(3), y: new Int32Array(1), size: 1 }).feeds![MEMORY_X].data as Float32Array;
        return Array.from({ length: 5 }, (_, k) => x[k * 3]);
      });
    };
    expect([...rows({})].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(rows({ sampling: 'with-replacement' })).size).toBeLessThan(10);
  });
});

describe('agem in task-IL (a head per task)', () => {
  const twoHeads = mlp({ inputSize: 3, hidden: [4], classesPerHead: 3, heads: 2 });
  const at = initParams(twoHeads, 8);
  const both = [...new Set([...twoHeads.paramsForHead(0), ...twoHeads.paramsForHead(1)])];
  const x = Float32Array.from([0.5, -1, 2, 1, 0.2, -0.3, -2, 1, 0.1, 0.3, 0.3, -0.7]);
  const y = Int32Array.from([0, 1, 2, 1]);
  // Task 0's memory: the same inputs, labels chosen so its gradient conflicts with task 1's.
  const memoryY = Int32Array.from([1, 2, 0, 2]);

  /** The gradient one SGD step (lr 1) of `head`'s graph used, over the params of both heads. */
  async function gradientOf(head: number, bx: Float32Array, by: Int32Array, training: MethodTraining = {}) {
    const graph = buildStepGraph({ model: twoHeads, head, optimizer: { name: 'sgd' }, trainable: both, method: training.step });
    const session = await TrainSession.create(graph, at);
    try {
      const feeds = training.batches?.(0, { x: bx, y: by, size: by.length }).feeds;
      await session.step(bx, by, by.length, 1, feeds);
      const after = await session.read();
      return both.flatMap((p) => Array.from(at[p].data, (v, i) => v - after[p].data[i]));
    } finally {
      await session.close();
    }
  }

  it("projects against the memory's gradient through each sample's own head", async () => {
    const state: TensorMap = {
      'agem.memory.x': { dims: [4, 3], data: x },
      'agem.memory.y': { dims: [4], data: Float32Array.from(memoryY) },
      'agem.memory.task': { dims: [4], data: new Float32Array(4) },
      'agem.memory.seen': { dims: [4], data: Float32Array.from([1, 1, 2, 4]) },
    };
    const training = agemMethod.training({
      config: agemMethod.configSchema.parse({ memoryBatch: 4 }),
      model: twoHeads,
      head: 1,
      task: { train: { inputDims: [3] } },
      state,
      seed: 1,
      taskIndex: 1,
    } as never) as MethodTraining;
    expect(training.trainable).toEqual(expect.arrayContaining(both));
    // The memory batch is drawn with replacement: the reference is the gradient on the rows drawn.
    const feeds = training.batches!(0, { x, y, size: 4 }).feeds!;
    const drawnX = feeds['agem.mem.x'].data as Float32Array;
    const targets = feeds['agem.mem.target.0'].data as Float32Array;
    const drawnY = Int32Array.from({ length: 4 }, (_, n) => targets.subarray(n * 3, n * 3 + 3).findIndex((v) => v > 0));
    const g = await gradientOf(1, x, y);
    const r = await gradientOf(0, drawnX, drawnY); // task 0's loss goes through head 0
    expect(dot(g, r)).toBeLessThan(-0.01); // measured -0.109: a conflict, so the projection acts
    const projected = await gradientOf(1, x, y, training);
    expect(Math.abs(dot(projected, r))).toBeLessThan(1e-5);
    const c = dot(g, r) / dot(r, r);
    projected.forEach((v, i) => expect(v).toBeCloseTo(g[i] - c * r[i], 5));
  });
});
