import type { SampleSet, TaskData } from '@retain/data';
import type { Predict } from '@retain/sdk';
import { syntheticScenario } from '@retain/sdk/testing';
import { logSumExp, nextTokenScores, perplexityEvaluator } from './index';

const CLASSES = 4;
const TARGETS = 3;

/** Sample s's input is [s]; its T = 3 labels are arbitrary classes (as a causal LM's next tokens are). */
function multiLabelTask(labels: number[][]): TaskData {
  const test: SampleSet = {
    n: labels.length,
    inputDims: [1],
    targetsPerSample: TARGETS,
    labels: Int32Array.from(labels.flat()),
    gather: (indices) => Float32Array.from(indices),
  };
  return { index: 0, name: 'lm', classes: [0, 1, 2, 3], train: test, test };
}

/** A fixed, uneven logit for (sample, position, class): every row differs, some are near ties. */
const logit = (s: number, p: number, c: number) => (((s * 7 + p * 3 + c * 5) % 11) - 4) / 3;

/** T rows of CLASSES logits per sample, as an LM's forward returns them: [batch * T, classes]. */
const fakeLm: Predict = async (x, batch) =>
  Float32Array.from({ length: batch * TARGETS * CLASSES }, (_, i) => {
    const row = Math.floor(i / CLASSES);
    return logit(x[Math.floor(row / TARGETS)], row % TARGETS, i % CLASSES);
  });

/** The expected scores by the textbook formula, -log(exp(z_y) / Σ exp(z_k)), not through logSumExp. */
function expected(labels: number[][]) {
  let nats = 0;
  let correct = 0;
  labels.forEach((row, s) =>
    row.forEach((y, p) => {
      // Float32 as predict returns them, then float64 arithmetic.
      const z = Array.from(Float32Array.from({ length: CLASSES }, (_, c) => logit(s, p, c)));
      nats -= Math.log(Math.exp(z[y]) / z.reduce((a, v) => a + Math.exp(v), 0));
      if (z.indexOf(Math.max(...z)) === y) correct++;
    }),
  );
  const rows = labels.length * TARGETS;
  return { loss: nats / rows, perplexity: Math.exp(nats / rows), tokenAccuracy: correct / rows };
}

describe('perplexity evaluator', () => {
  const labels = [
    [0, 3, 1],
    [2, 2, 0],
    [1, 0, 3],
    [3, 1, 2],
  ];

  it('scores every label row of a multi-label sample set (targetsPerSample = 3), across batch boundaries', async () => {
    const want = expected(labels);
    for (const batchSize of [1, 3, 1000]) {
      const got = await nextTokenScores({ config: { batchSize }, task: multiLabelTask(labels), predict: fakeLm });
      expect(got.loss).toBeCloseTo(want.loss, 12);
      expect(got.perplexity).toBeCloseTo(want.perplexity, 10);
      expect(got.tokenAccuracy).toBe(want.tokenAccuracy);
    }
    // The fixture is not degenerate: some rows right, some wrong, loss between perfect and uniform.
    expect(want.tokenAccuracy).toBeGreaterThan(0);
    expect(want.tokenAccuracy).toBeLessThan(1);
    expect(want.loss).toBeGreaterThan(0);
  });

  it('reports loss, perplexity and tokenAccuracy through the plugin, with perplexity = exp(loss)', async () => {
    const results = await perplexityEvaluator.evaluate({
      config: perplexityEvaluator.configSchema.parse({}),
      task: multiLabelTask(labels),
      predict: fakeLm,
    });
    expect(Object.keys(results).sort()).toEqual(['loss', 'perplexity', 'tokenAccuracy']);
    expect(results.perplexity).toBe(Math.exp(results.loss));
  });

  it('is exact where the naive formula overflows: a log-softmax shifted by the row maximum, in float64', () => {
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 12);
    expect(logSumExp([-1000, 0])).toBeCloseTo(0, 12);
    expect(logSumExp(Float32Array.from([0, 0, 0, 0]))).toBeCloseTo(Math.log(4), 15);
  });

  it("on a one-label scenario is the classifier's test cross-entropy and top-1 accuracy", async () => {
    const scenario = syntheticScenario({ testPerTask: 10 });
    const task = scenario.task(1);
    const k = scenario.classesPerHead;
    const features = scenario.inputDims[0];
    // A fixed linear model: logit c = 2 x[c] - x[(c + 1) % k].
    const logits = (x: ArrayLike<number>, b: number) =>
      Array.from({ length: k }, (_, c) => Math.fround(2 * x[b * features + c] - x[b * features + ((c + 1) % k)]));
    const predict: Predict = async (x, batch) => Float32Array.from(Array.from({ length: batch }, (_, b) => logits(x, b)).flat());
    const inputs = task.test.gather(Int32Array.from({ length: task.test.n }, (_, i) => i));
    let nats = 0;
    let correct = 0;
    for (let b = 0; b < task.test.n; b++) {
      const z = logits(inputs, b);
      const y = task.test.labels[b];
      nats -= Math.log(Math.exp(z[y]) / z.reduce((a, v) => a + Math.exp(v), 0));
      if (z.indexOf(Math.max(...z)) === y) correct++;
    }
    const got = await nextTokenScores({ config: { batchSize: 4 }, task, predict });
    expect(got.loss).toBeCloseTo(nats / task.test.n, 12);
    expect(got.tokenAccuracy).toBe(correct / task.test.n);
  });

  it('names what is wrong: logits that do not match the label rows, labels outside the head, logits that are not finite', async () => {
    const task = multiLabelTask(labels);
    await expect(nextTokenScores({ config: { batchSize: 2 }, task, predict: async () => new Float32Array(7) })).rejects.toThrow(
      /7 logits for 6 label rows/,
    );
    await expect(nextTokenScores({ config: { batchSize: 2 }, task: multiLabelTask([[0, 9, 1]]), predict: fakeLm })).rejects.toThrow(
      /label 9 of row 1 is outside the head's 4 classes/,
    );
    const diverged: Predict = async (x, batch) => (await fakeLm(x, batch)).map((v, i) => (i === 5 ? NaN : v));
    await expect(nextTokenScores({ config: { batchSize: 2 }, task, predict: diverged })).rejects.toThrow(/not finite/);
  });
});
