import { Rng } from '@retain/engine';
import type { SampleSet, TaskData } from '@retain/data';
import {
  classBalancedOffer,
  cycleBuffer,
  drawMemory,
  namespace,
  offerTask,
  readBuffer,
  reservoirOffer,
  sampleBuffer,
  writeBuffer,
  type ReplayBuffer,
} from './index';

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

describe('replay buffer as state tensors', () => {
  const buffer: ReplayBuffer = {
    x: Float32Array.from([1, 2, 3, 4, 5, 6]),
    y: Int32Array.from([2, 0]),
    targets: 1,
    task: Int32Array.from([0, 1]),
    size: 2,
    features: 3,
    seenPerClass: [4, 0, 3],
    seen: 7,
  };

  it("is stored under the namespace it is given ('agem.memory.x', …) and reads back the same", () => {
    const keys = namespace('agem').state.sub('memory');
    const state = writeBuffer(buffer, keys);
    expect(Object.keys(state)).toEqual(['agem.memory.x', 'agem.memory.y', 'agem.memory.task', 'agem.memory.seen']);
    expect(state['agem.memory.seen'].data).toEqual(Float32Array.from([4, 0, 3, 7]));
    expect(readBuffer(state, keys, 3)).toEqual(buffer);
  });

  it('reads an empty buffer from a state without one, and refuses samples of another size', () => {
    expect(readBuffer(undefined, namespace('replay').state, 3).size).toBe(0);
    expect(() => readBuffer(writeBuffer(buffer, namespace('replay').state), namespace('replay').state, 4)).toThrow(/3 features/);
  });
});

describe('a buffer of sequences (T labels per sample, a causal LM)', () => {
  // 6 sequences of 3 tokens; sample i's tokens i, i+1, i+2 and labels i+1, i+2, i+3.
  const T = 3;
  const train: SampleSet = {
    n: 6,
    inputDims: [T],
    targetsPerSample: T,
    labels: Int32Array.from({ length: 6 * T }, (_, k) => Math.floor(k / T) + (k % T) + 1),
    gather: (indices) => Float32Array.from(Array.from(indices).flatMap((i) => [i, i + 1, i + 2])),
  };
  const task: TaskData = { index: 0, name: 't0', classes: [], train, test: train };
  const keys = namespace('replay').state;

  it('keeps every sampled sequence with its T labels, stores y as [M, T] and reads it back', () => {
    const buffer = offerTask(readBuffer(undefined, keys, T, T), task, 4, 'reservoir', 5);
    expect(buffer).toMatchObject({ size: 4, targets: T });
    for (let k = 0; k < 4; k++) {
      const first = buffer.x[k * T];
      expect(Array.from(buffer.y.subarray(k * T, (k + 1) * T))).toEqual([first + 1, first + 2, first + 3]);
    }
    const state = writeBuffer(buffer, keys);
    expect(state['replay.y'].dims).toEqual([4, T]);
    expect(readBuffer(state, keys, T, T)).toEqual(buffer);
    expect(() => readBuffer(state, keys, T, 1)).toThrow('the replay buffer holds 3 labels per sample, but this task');
    const drawn = sampleBuffer(buffer, 5, 1, 'replay-batch', 1, 0);
    expect(drawn.y).toHaveLength(5 * T);
    for (let k = 0; k < 5; k++) expect(drawn.y[k * T]).toBe(drawn.x[k * T] + 1);
  });

  it('refuses a class-balanced buffer: a sequence has no class', () => {
    expect(() => offerTask(readBuffer(undefined, keys, T, T), task, 4, 'class-balanced', 5)).toThrow(
      "a class-balanced buffer needs one class per sample; task 0's samples have 3 labels each (a sequence): use policy 'reservoir'",
    );
  });
});

describe('memory sampling', () => {
  // A buffer of 10 rows of one feature each, row r holding the value r (label r, task r % 3).
  const buffer: ReplayBuffer = {
    x: Float32Array.from({ length: 10 }, (_, r) => r),
    y: Int32Array.from({ length: 10 }, (_, r) => r),
    targets: 1,
    task: Int32Array.from({ length: 10 }, (_, r) => r % 3),
    size: 10,
    features: 1,
    seenPerClass: [],
    seen: 10,
  };
  const rows = (draw: { y: Int32Array }) => Array.from(draw.y);

  it("'cycle' replays every row once per pass: 4 rows a step, each pass of 10 rows a new permutation", () => {
    const steps = Array.from({ length: 5 }, (_, s) => rows(drawMemory('cycle', buffer, 4, 7, 'replay-batch', 2, s)));
    const stream = steps.flat();
    const passes = [stream.slice(0, 10), stream.slice(10, 20)];
    for (const pass of passes) expect([...pass].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(passes[0]).not.toEqual(passes[1]);
    // Inputs and heads come with their rows.
    const draw = drawMemory('cycle', buffer, 4, 7, 'replay-batch', 2, 3);
    expect(Array.from(draw.x)).toEqual(rows(draw));
    expect(Array.from(draw.head)).toEqual(rows(draw).map((r) => r % 3));
  });

  it("'cycle' is a pure function of (seed, what, task, step): a step drawn alone gives the same rows", () => {
    const alone = rows(cycleBuffer(buffer, 4, 7, 'replay-batch', 2, 4));
    expect(alone).toEqual(rows(drawMemory('cycle', buffer, 4, 7, 'replay-batch', 2, 4)));
    expect(alone).not.toEqual(rows(cycleBuffer(buffer, 4, 8, 'replay-batch', 2, 4)));
  });

  it("'with-replacement' is sampleBuffer's draw, unchanged, and repeats rows where a cycle cannot", () => {
    for (let s = 0; s < 3; s++)
      expect(rows(drawMemory('with-replacement', buffer, 4, 7, 'agem-reference', 1, s))).toEqual(
        rows(sampleBuffer(buffer, 4, 7, 'agem-reference', 1, s)),
      );
    // 10 rows drawn from 10: with replacement, some row repeats (all distinct has probability 10!/10^10).
    expect(new Set(rows(drawMemory('with-replacement', buffer, 10, 7, 'agem-reference', 1, 0))).size).toBeLessThan(10);
    expect(new Set(rows(drawMemory('cycle', buffer, 10, 7, 'agem-reference', 1, 0))).size).toBe(10);
  });
});
