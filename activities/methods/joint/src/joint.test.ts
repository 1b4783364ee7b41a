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
});
