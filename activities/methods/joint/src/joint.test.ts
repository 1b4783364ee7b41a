import type { SampleSet, TaskData } from '@retain/data';
import type { MethodContext } from '@retain/sdk';
import { mlp } from '@retain/engine';
import { jointMethod } from './index';

function task(index: number, n: number): TaskData {
  const set: SampleSet = {
    n,
    inputDims: [1],
    labels: Int32Array.from({ length: n }, () => index),
    gather: (indices, out) => {
      const target = out ?? new Float32Array(indices.length);
      for (let k = 0; k < indices.length; k++) target[k] = index * 1000 + indices[k];
      return target;
    },
  };
  return { index, name: `t${index}`, classes: [index], train: set, test: set };
}

describe('joint method', () => {
  const ctx = (taskIndex: number) =>
    ({
      config: {},
      seed: 2,
      taskIndex,
      task: task(taskIndex, 100),
      model: { heads: 1 },
      head: 0,
      taskData: (j: number) => task(j, j === 0 ? 300 : 100),
    }) as unknown as MethodContext<Record<string, never>>;

  it('draws each batch from all tasks so far in proportion to their size, the same for the same step', () => {
    const training = jointMethod.training(ctx(1));
    const current = { x: new Float32Array(64), y: new Int32Array(64), size: 64 };
    let fromFirst = 0;
    for (let s = 0; s < 50; s++) {
      const { batch } = training.batches!(s, current);
      expect(batch.size).toBe(64);
      batch.x.forEach((v, k) => expect(batch.y[k]).toBe(Math.floor(v / 1000))); // inputs and labels stay paired
      fromFirst += batch.y.filter((l) => l === 0).length;
    }
    // Task 0 holds 300 of 400 samples: 75% expected; 3200 draws have a binomial sd of 0.008, the bounds are ~4 sd.
    expect(fromFirst / (50 * 64)).toBeGreaterThan(0.72);
    expect(fromFirst / (50 * 64)).toBeLessThan(0.78);
    expect(training.batches!(7, current).batch.x).toEqual(training.batches!(7, current).batch.x);
  });

  it('trains the first task as it is', () => {
    expect(jointMethod.training(ctx(0))).toEqual({});
  });

  it("in task-IL sends each drawn sample through its own task's head and cancels the trainer's batch", () => {
    const model = mlp({ inputSize: 1, hidden: [2], classesPerHead: 3, heads: 3 });
    const training = jointMethod.training({ ...ctx(1), model, head: 1 } as never);
    expect(training.trainable).toEqual(expect.arrayContaining([...model.paramsForHead(0), ...model.paramsForHead(1)]));
    const current = { x: new Float32Array(64), y: new Int32Array(64), size: 64 };
    const { batch, feeds } = training.batches!(5, current);
    expect(batch).toBe(current);
    expect(feeds!['joint.current-scale'].data[0]).toBe(-1); // the trainer's own batch weighs 0
    const x = feeds!['joint.x'].data as Float32Array;
    const targets = [0, 1].map((h) => feeds![`joint.target.${h}`].data as Float32Array);
    for (let n = 0; n < 64; n++) {
      const task = Math.floor(x[n] / 1000); // the sample's task (task() encodes it in the input)
      // Its one-hot label (task() labels task j's samples j), weighted 1/64, in its task's head only.
      expect(Array.from(targets[task].subarray(n * 3, n * 3 + 3))).toEqual([0, 1, 2].map((c) => (c === task ? 1 / 64 : 0)));
      expect(targets[1 - task].subarray(n * 3, n * 3 + 3).every((v) => v === 0)).toBe(true);
    }
  });

  it('epochsOver: union hands the trainer the union of tasks 0..t, growing with t; the default hands none', () => {
    const union = (t: number) => jointMethod.training({ ...ctx(t), config: { epochsOver: 'union' } });
    expect(union(0)).toEqual({});
    expect(union(1).trainingSet!.n).toBe(400);
    expect(union(2).trainingSet!.n).toBe(500);
    expect(Array.from(union(2).trainingSet!.gather([0, 300, 499]))).toEqual([0, 1000, 2099]);
    expect(union(2).batches).toBeUndefined(); // one head: the trainer's own epochs over the union
    expect(jointMethod.training(ctx(2)).trainingSet).toBeUndefined();
    expect(jointMethod.configSchema.parse({})).toEqual({}); // a spec without it resolves as before
  });

  it("epochsOver: union in task-IL sends each of the trainer's union samples through its own task's head", () => {
    const model = mlp({ inputSize: 1, hidden: [2], classesPerHead: 3, heads: 3 });
    const training = jointMethod.training({ ...ctx(1), config: { epochsOver: 'union' }, model, head: 1 } as never);
    expect(training.trainingSet!.n).toBe(400);
    const indices = Int32Array.of(0, 299, 300, 399);
    const current = { x: training.trainingSet!.gather(indices), y: Int32Array.of(0, 0, 1, 1), size: 4, indices };
    const { batch, feeds } = training.batches!(0, current);
    expect(batch).toBe(current);
    expect(feeds!['joint.current-scale'].data[0]).toBe(-1);
    const targets = [0, 1].map((h) => Array.from(feeds![`joint.target.${h}`].data as Float32Array));
    // Samples 0, 1 are task 0's (label 0, head 0), samples 2, 3 task 1's (label 1, head 1), each weighted 1/4.
    expect(targets[0]).toEqual([0.25, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(targets[1]).toEqual([0, 0, 0, 0, 0, 0, 0, 0.25, 0, 0, 0.25, 0]);
  });
});
