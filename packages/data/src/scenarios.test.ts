import { batchOrder, loadFashionMnist, permutedScenario, scenarioInfo, splitClasses, splitScenario, taskPermutation } from './index';

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('permuted scenario', () => {
  it('describes one shared 10-class head and names its tasks', async () => {
    const s = await permutedScenario({ tasks: 3 }, 7);
    expect(scenarioInfo(s)).toEqual({
      name: 'permuted-fashion-mnist',
      tasks: 3,
      heads: 1,
      classesPerHead: 10,
      inputDims: [784],
      taskNames: ['permuted-0', 'permuted-1', 'permuted-2'],
    });
    expect(s.task(2).classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.task(0).train.n).toBe(60000);
    expect(s.task(0).test.n).toBe(10000);
  });

  it("a task's test view is the task permutation applied to the raw image, normalised", async () => {
    const raw = await loadFashionMnist();
    const s = await permutedScenario({ tasks: 2 }, 7);
    const permutation = taskPermutation(7, 1, 784);
    const view = s.task(1).test.gather([123]);
    expect(view.length).toBe(784);
    for (let p = 0; p < 784; p++) {
      const pixel = raw.test.images[123 * 784 + permutation[p]];
      expect(view[p]).toBeCloseTo((pixel / 255 - raw.pixelMean) / raw.pixelStd, 5);
    }
    expect(s.task(1).test.labels[123]).toBe(raw.test.labels[123]);
    // The permutation really moves pixels: the view differs from the unpermuted image.
    const unpermuted = Array.from(raw.test.images.subarray(123 * 784, 124 * 784), (x) => (x / 255 - raw.pixelMean) / raw.pixelStd);
    expect(Array.from(view).filter((v, p) => Math.abs(v - unpermuted[p]) > 1e-4).length).toBeGreaterThan(100);
  });

  it('train and test of a task share its permutation', async () => {
    const s = await permutedScenario({ tasks: 1 }, 3);
    const permutation = taskPermutation(3, 0, 784);
    const raw = await loadFashionMnist();
    const train = s.task(0).train.gather([9]);
    const expected = (raw.train.images[9 * 784 + permutation[400]] / 255 - raw.pixelMean) / raw.pixelStd;
    expect(train[400]).toBeCloseTo(expected, 5);
  });

  it('same seed gives the same bits; a different seed or task gives different pixels', async () => {
    const a = await permutedScenario({ tasks: 2 }, 11);
    const b = await permutedScenario({ tasks: 2 }, 11);
    const c = await permutedScenario({ tasks: 2 }, 12);
    const batch = [0, 5, 59999];
    expect(bits(a.task(1).train.gather(batch)).equals(bits(b.task(1).train.gather(batch)))).toBe(true);
    expect(bits(a.task(1).train.gather(batch)).equals(bits(c.task(1).train.gather(batch)))).toBe(false);
    expect(bits(a.task(0).train.gather(batch)).equals(bits(a.task(1).train.gather(batch)))).toBe(false);
    expect(Array.from(taskPermutation(11, 1, 784))).toEqual(Array.from(taskPermutation(11, 1, 784)));
    expect(Array.from(taskPermutation(11, 1, 784))).not.toEqual(Array.from(taskPermutation(12, 1, 784)));
  });

  it('takes a seeded subset per task, identical for the same seed', async () => {
    const cfg = { tasks: 2, trainPerTask: 500, testPerTask: 100 };
    const a = await permutedScenario(cfg, 5);
    const b = await permutedScenario(cfg, 5);
    const c = await permutedScenario(cfg, 6);
    expect(a.task(0).train.n).toBe(500);
    expect(a.task(0).test.n).toBe(100);
    expect(Array.from(a.task(0).train.labels)).toEqual(Array.from(b.task(0).train.labels));
    expect(bits(a.task(0).train.gather([0, 499])).equals(bits(b.task(0).train.gather([0, 499])))).toBe(true);
    expect(Array.from(a.task(0).train.labels)).not.toEqual(Array.from(c.task(0).train.labels));
    for (const l of a.task(1).train.labels) expect(l >= 0 && l < 10).toBe(true);
  });

  it('gathers into a caller buffer and refuses out-of-range samples', async () => {
    const s = await permutedScenario({ tasks: 1, testPerTask: 10 }, 1);
    const out = new Float32Array(3 * 784);
    const view = s.task(0).test.gather([0, 1], out);
    expect(view.buffer).toBe(out.buffer);
    expect(view.length).toBe(2 * 784);
    expect(() => s.task(0).test.gather([10])).toThrow(/sample index 10 \(position 0 of the batch\) is outside 0\.\.9/);
    expect(() => s.task(0).test.gather([0, 1], new Float32Array(784))).toThrow(/needs an output of 1568 floats/);
    expect(() => s.task(1)).toThrow(/task 1 does not exist/);
  });

  it('rejects invalid configs, naming the field', async () => {
    await expect(permutedScenario({ tasks: 0 }, 1)).rejects.toThrow(/Invalid permuted scenario config[\s\S]*tasks/);
    await expect(permutedScenario({ task: 3 } as never, 1)).rejects.toThrow(/task/);
    await expect(permutedScenario({ trainPerTask: 70000 }, 1)).rejects.toThrow(/asked for 70000 samples but only 60000 exist/);
    // A typed error: the workflow lists it as non-retryable, so a run fails at once instead of retrying.
    await expect(permutedScenario({ trainPerTask: 70000 }, 1)).rejects.toMatchObject({ name: 'ScenarioConfigError' });
  });
});

describe('split scenario', () => {
  it('task-IL: classes [2t, 2t+1], a head per task, labels remapped to 0/1', async () => {
    const raw = await loadFashionMnist();
    const s = await splitScenario({ tasks: 5 }, 1);
    expect(scenarioInfo(s)).toMatchObject({ name: 'split-fashion-mnist-task-il', tasks: 5, heads: 5, classesPerHead: 2 });
    const task = s.task(2);
    expect(task.classes).toEqual([4, 5]);
    expect(task.train.n).toBe(12000);
    expect(task.test.n).toBe(2000);
    expect(new Set(task.train.labels)).toEqual(new Set([0, 1]));
    // Check every test label against the raw label of the image it shows.
    const rawImageOf = new Map<string, number>();
    raw.test.labels.forEach((label, i) => {
      if (label === 4 || label === 5)
        rawImageOf.set(Buffer.from(raw.test.images.subarray(i * 784, (i + 1) * 784)).toString('base64'), label);
    });
    const first = task.test.gather([0]);
    const pixelsOf = (v: Float32Array) =>
      Buffer.from(Array.from(v, (x) => Math.round((x * raw.pixelStd + raw.pixelMean) * 255))).toString('base64');
    expect(rawImageOf.get(pixelsOf(first))).toBe(4 + task.test.labels[0]);
  });

  it('class-IL: one head over all 10 classes with global labels', async () => {
    const s = await splitScenario({ tasks: 5, mode: 'class-il' }, 1);
    expect(s.heads).toBe(1);
    expect(s.classesPerHead).toBe(10);
    expect(s.task(3).classes).toEqual([6, 7]);
    expect(new Set(s.task(3).test.labels)).toEqual(new Set([6, 7]));
  });

  it('domain-IL: one shared head over the task-local labels, the same samples as task-IL', async () => {
    const s = await splitScenario({ tasks: 5, mode: 'domain-il', testPerTask: 50 }, 1);
    const taskIL = await splitScenario({ tasks: 5, mode: 'task-il', testPerTask: 50 }, 1);
    expect(scenarioInfo(s)).toMatchObject({ name: 'split-fashion-mnist-domain-il', heads: 1, classesPerHead: 2 });
    expect(s.task(3).classes).toEqual([6, 7]);
    expect(Array.from(s.task(3).test.labels)).toEqual(Array.from(taskIL.task(3).test.labels));
    expect(new Set(s.task(3).test.labels)).toEqual(new Set([0, 1]));
  });

  it('shuffled classes partition 0..9, depend only on the seed', () => {
    const a = splitClasses(5, true, 42);
    expect(a.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(splitClasses(5, true, 42)).toEqual(a);
    const seeds = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(splitClasses(5, true, seed)));
    expect(new Set(seeds).size).toBeGreaterThan(1);
    expect(splitClasses(2, false, 42)).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);
  });

  it('shuffled task-IL labels index the sorted classes of the task', async () => {
    const cfg = { tasks: 5, shuffleClasses: true, testPerTask: 50 };
    const taskIL = (await splitScenario(cfg, 42)).task(0);
    // Same seed and subset size pick the same samples; class-IL shows their global labels.
    const classIL = (await splitScenario({ ...cfg, mode: 'class-il' }, 42)).task(0);
    expect(taskIL.classes).toEqual(splitClasses(5, true, 42)[0]);
    expect(taskIL.test.n).toBe(50);
    expect(new Set(taskIL.test.labels).size).toBe(2);
    expect(Array.from(taskIL.test.labels, (k) => taskIL.classes[k])).toEqual(Array.from(classIL.test.labels));
  });

  it('rejects task counts that do not split 10 classes evenly', async () => {
    await expect(splitScenario({ tasks: 3 }, 1)).rejects.toThrow(/tasks must split the 10 classes evenly: use 1, 2, 5 or 10/);
    await expect(splitScenario({ mode: 'instance-il' } as never, 1)).rejects.toThrow(/mode/);
    await expect(splitScenario({ tasks: 5, trainPerTask: 12001 }, 1)).rejects.toThrow(
      /task 0 \(classes 0,1\) trainPerTask: asked for 12001 samples but only 12000 exist/,
    );
  });
});

describe('batchOrder', () => {
  it('is a permutation of 0..n-1', () => {
    const order = batchOrder(1000, 1, 0, 0);
    expect(Array.from(order).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('depends only on (n, seed, task, epoch)', () => {
    const a = Array.from(batchOrder(100, 9, 2, 3));
    expect(Array.from(batchOrder(100, 9, 2, 3))).toEqual(a);
    expect(Array.from(batchOrder(100, 10, 2, 3))).not.toEqual(a);
    expect(Array.from(batchOrder(100, 9, 1, 3))).not.toEqual(a);
    expect(Array.from(batchOrder(100, 9, 2, 4))).not.toEqual(a);
  });
});
