import type { TensorMap } from '@retain/engine';
import type { SampleSet, TaskData } from '@retain/data';
import { type AfterTaskContext, type MethodContext, type MethodPlugin } from '@retain/sdk';
import { namespace, readBuffer } from '@retain/methods-kit';
import { replayMethod } from './index';

const replayState = namespace('replay').state;

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
    const buffer = readBuffer(s2, replayState, 4);
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

  it('with `sampling: cycle` replays every buffer sample once before any twice; without it the config parses as before', async () => {
    expect(method.configSchema.parse({})).toEqual({ bufferSize: 500, policy: 'reservoir', share: 0.5 });
    const s1 = await method.afterTask!(ctx(0, { bufferSize: 50 }));
    const training = await method.training!(ctx(1, { bufferSize: 50, sampling: 'cycle' }, s1) as MethodContext);
    const current = { x: new Float32Array(10 * 4).fill(-1), y: new Int32Array(10), size: 10 };
    // 10 replayed a step: steps 0..4 are one pass over the 50 samples.
    const replayed = Array.from({ length: 5 }, (_, s) => {
      const x = training.batches!(s, current).batch.x.subarray(40);
      return Array.from({ length: 10 }, (_, k) => x[k * 4]);
    }).flat();
    expect(new Set(replayed).size).toBe(50);
  });

  it('adds nothing on the first task (empty buffer), with one head or a head per task', async () => {
    expect(await method.training!(ctx(0, {}) as MethodContext)).toEqual({});
    expect(await method.training!({ ...ctx(0, {}), model: { heads: 5, classesPerHead: 3 } } as never)).toEqual({});
  });

  it("keeps each sample's task, and in task-IL balances classes by (task, label)", async () => {
    const taskIl = (taskIndex: number, state?: TensorMap) =>
      ({ ...ctx(taskIndex, { bufferSize: 60, policy: 'class-balanced' }, state), model: { heads: 2, classesPerHead: 3 } }) as never;
    const s1 = await method.afterTask!(taskIl(0));
    const buffer = readBuffer(await method.afterTask!(taskIl(1, s1)), replayState, 4);
    // Labels 0..2 in both tasks: six classes of 10 each, not three of 20.
    expect(buffer.seenPerClass).toEqual([100, 100, 100, 100, 100, 100]);
    for (let t = 0; t < 2; t++)
      for (let label = 0; label < 3; label++)
        expect(Array.from(buffer.y).filter((y, k) => y === label && buffer.task[k] === t)).toHaveLength(10);
    // The task stored with a sample is the one it came from (tinyTask encodes it in the inputs).
    buffer.task.forEach((t, k) => expect(Math.floor(buffer.x[k * 4] / 1000)).toBe(t));
  });
});
