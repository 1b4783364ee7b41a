import type { SampleSet } from '@retain/data';
import { taskUnion } from './task-union';

/** Task j's sample i has the one input value 1000 j + i and label j. */
const set = (j: number, n: number): SampleSet => ({
  n,
  inputDims: [1],
  labels: new Int32Array(n).fill(j),
  gather: (indices, out) => {
    const target = out ?? new Float32Array(indices.length);
    for (let k = 0; k < indices.length; k++) target[k] = 1000 * j + indices[k];
    return target;
  },
});

describe('taskUnion', () => {
  it('lays the sets one after another: sizes, labels, inputs and the task of each position', () => {
    const u = taskUnion([set(0, 3), set(1, 2), set(2, 4)]);
    expect(u.set.n).toBe(9);
    expect(u.offsets).toEqual([0, 3, 5]);
    expect(Array.from(u.set.labels)).toEqual([0, 0, 0, 1, 1, 2, 2, 2, 2]);
    expect(Array.from(u.set.gather([8, 0, 3, 5]))).toEqual([2003, 0, 1000, 2000]);
    expect([0, 2, 3, 4, 5, 8].map(u.taskOf)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(() => u.taskOf(9)).toThrow(/outside 0..8/);
  });

  it('refuses sets of different input shapes', () => {
    expect(() => taskUnion([set(0, 1), { ...set(1, 1), inputDims: [2] }])).toThrow(/set 1 has inputs \[2\], set 0 \[1\]/);
  });

  it('keeps T labels per sample in order (sequences), and refuses sets that differ in labels per sample', () => {
    const seq = (j: number, n: number): SampleSet => ({
      ...set(j, n),
      targetsPerSample: 2,
      labels: Int32Array.from({ length: 2 * n }, (_, k) => 10 * j + k),
    });
    const u = taskUnion([seq(0, 2), seq(1, 1)]);
    expect(u.set.targetsPerSample).toBe(2);
    expect(Array.from(u.set.labels)).toEqual([0, 1, 2, 3, 10, 11]);
    expect(() => taskUnion([seq(0, 1), set(1, 1)])).toThrow('taskUnion: set 1 has 1 labels per sample, set 0 2');
  });
});
