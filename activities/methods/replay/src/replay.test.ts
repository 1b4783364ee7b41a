import { Rng, type TensorMap } from '@retain/engine';
import type { SampleSet, TaskData } from '@retain/data';
import { type AfterTaskContext, type MethodContext, type MethodPlugin } from '@retain/sdk';
import { classBalancedOffer, readBuffer, replayMethod, reservoirOffer } from './index';

describe('reservoir sampling', () => {
  it('keeps each of the items offered with probability capacity / seen (2000 seeded trials)', () => {
    const items = 100;
    const capacity = 10;
    const trials = 2000;
    const kept = new Array<number>(items).fill(0);
    for (let t = 0; t < trials; t++) {
      // Offered in two rounds, as over two tasks: the second resumes from the first's count.
      const rng = new Rng(1000 + t);
      const first = reservoirOffer(
        [] as number[],
        0,
        capacity,
        Array.from({ length: 40 }, (_, i) => i),
        rng,
      );
      const second = reservoirOffer(
        first.held,
        first.seen,
        capacity,
        Array.from({ length: 60 }, (_, i) => 40 + i),
        rng,
      );
      expect(second.seen).toBe(items);
      expect(second.held).toHaveLength(capacity);
      for (const i of second.held) kept[i]++;
    }
    const expected = (trials * capacity) / items; // 200 per item
    const chiSquare = kept.reduce((s, k) => s + (k - expected) ** 2 / expected, 0);
    // 99 degrees of freedom: the 0.999 quantile is 148.2; measured 102.2 with these seeds.
    expect(chiSquare).toBeLessThan(148.2);
    // Items offered early and late are kept alike (a broken reservoir favours one end); measured 198.2 vs 201.2.
    const early = kept.slice(0, 40).reduce((a, b) => a + b) / 40;
    const late = kept.slice(40).reduce((a, b) => a + b) / 60;
    expect(Math.abs(early - late)).toBeLessThan(10);
  });

  it('class-balanced: an equal share per label, shrinking as new labels arrive', () => {
    const rng = new Rng(3);
    const stream = (labels: number[], n: number) => Array.from({ length: n }, (_, i) => ({ item: i, label: labels[i % labels.length] }));
    // Label 0 is 9x as frequent as label 1: plain reservoir would hold ~90% label 0.
    const skewed = stream([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 1000);
    const a = classBalancedOffer([], [], 20, skewed, rng);
    expect(a.held.filter((h) => h.label === 0)).toHaveLength(10);
    expect(a.held.filter((h) => h.label === 1)).toHaveLength(10);
    const b = classBalancedOffer(a.held, a.seenPerClass, 20, stream([2, 3], 100), rng);
    for (const c of [0, 1, 2, 3]) expect(b.held.filter((h) => h.label === c)).toHaveLength(5);
    expect(b.seenPerClass).toEqual([900, 100, 50, 50]);
  });
});

function tinyTask(index: number, n: number): TaskData {
  const features = 4;
  const set: SampleSet = {
    n,
    inputDims: [features],
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    gather: (indices, out) => {
      const target = out ?? new Float32Array(indices.length * features);
      for (let k = 0; k < indices.length; k++) target.fill(index * 1000 + indices[k], k * features, (k + 1) * features);
      return target.subarray(0, indices.length * features);
    },
  };
  return { index, name: `t${index}`, classes: [0, 1, 2], train: set, test: set };
}

describe('replay method', () => {
  const method: MethodPlugin = replayMethod;
  const model = { heads: 1 } as never;
  const ctx = (taskIndex: number, config: object, state?: TensorMap): AfterTaskContext =>
    ({
      config: method.configSchema.parse(config),
      seed: 4,
      taskIndex,
      task: tinyTask(taskIndex, 300),
      model,
      head: 0,
      taskData: (i: number) => tinyTask(i, 300),
      state,
      params: {},
    }) as AfterTaskContext;

  it('stores its buffer as tensors and fills it from every task so far', async () => {
    const s1 = await method.afterTask!(ctx(0, { bufferSize: 50 }));
    expect(s1!['replay.x'].dims).toEqual([50, 4]);
    const s2 = await method.afterTask!(ctx(1, { bufferSize: 50 }, s1));
    const buffer = readBuffer(s2, 'replay.', 4);
    expect(buffer.size).toBe(50);
    expect(buffer.seen).toBe(600);
    const fromTask = (t: number) => Array.from({ length: 50 }, (_, k) => Math.floor(buffer.x[k * 4] / 1000)).filter((v) => v === t).length;
    // Half of 600 offered samples came from each task: both are well represented.
    expect(fromTask(0)).toBeGreaterThan(10);
    expect(fromTask(1)).toBeGreaterThan(10);
  });

  it('mixes `share` of each batch from the buffer, the same for the same step', async () => {
    const s1 = await method.afterTask!(ctx(0, { bufferSize: 50 }));
    const training = await method.training!(ctx(1, { bufferSize: 50, share: 0.5 }, s1) as MethodContext);
    const current = { x: new Float32Array(8 * 4).fill(-1), y: new Int32Array(8), size: 8 };
    const a = training.batches!(3, current).batch;
    expect(a.size).toBe(16);
    expect(Array.from(a.x.subarray(0, 32)).every((v) => v === -1)).toBe(true);
    expect(Array.from(a.x.subarray(32)).every((v) => v >= 0 && v < 1000)).toBe(true); // from task 0
    expect(training.batches!(3, current).batch.x).toEqual(a.x);
    expect(training.batches!(4, current).batch.x).not.toEqual(a.x);
  });

  it('adds nothing on the first task (empty buffer), with one head or a head per task', async () => {
    expect(await method.training!(ctx(0, {}) as MethodContext)).toEqual({});
    expect(await method.training!({ ...ctx(0, {}), model: { heads: 5, classesPerHead: 3 } } as never)).toEqual({});
  });

  it("keeps each sample's task, and in task-IL balances classes by (task, label)", async () => {
    const taskIl = (taskIndex: number, state?: TensorMap) =>
      ({ ...ctx(taskIndex, { bufferSize: 60, policy: 'class-balanced' }, state), model: { heads: 2, classesPerHead: 3 } }) as never;
    const s1 = await method.afterTask!(taskIl(0));
    const buffer = readBuffer(await method.afterTask!(taskIl(1, s1)), 'replay.', 4);
    // Labels 0..2 in both tasks: six classes of 10 each, not three of 20.
    expect(buffer.seenPerClass).toEqual([100, 100, 100, 100, 100, 100]);
    for (let t = 0; t < 2; t++)
      for (let label = 0; label < 3; label++)
        expect(Array.from(buffer.y).filter((y, k) => y === label && buffer.task[k] === t)).toHaveLength(10);
    // The task stored with a sample is the one it came from (tinyTask encodes it in the inputs).
    buffer.task.forEach((t, k) => expect(Math.floor(buffer.x[k * 4] / 1000)).toBe(t));
  });
});
