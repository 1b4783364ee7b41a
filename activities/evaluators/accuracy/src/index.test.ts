import type { SampleSet, TaskData } from '@retain/data';
import { topOneAccuracy } from './index';

/** A 2-feature task whose label is which feature is larger; a perfect model echoes its input. */
function task(labels: number[]): TaskData {
  const n = labels.length;
  const test: SampleSet = {
    n,
    inputDims: [2],
    labels: Int32Array.from(labels),
    gather: (indices) => Float32Array.from(Array.from(indices).flatMap((i) => (labels[i] === 1 ? [0, 1] : [1, 0]))),
  };
  return { index: 0, name: 't0', classes: [0, 1], train: test, test };
}

describe('accuracy evaluator', () => {
  it('is 1 for a model that always predicts the label, across batch boundaries', async () => {
    const labels = [0, 1, 1, 0, 1, 0, 0];
    const acc = await topOneAccuracy({ config: { batchSize: 3 }, task: task(labels), predict: async (x) => x });
    expect(acc).toBe(1);
  });

  it('counts the share of correct argmax predictions', async () => {
    const labels = [0, 1, 1, 0];
    // Always predicts class 1: right on half of the samples.
    const acc = await topOneAccuracy({
      config: { batchSize: 2 },
      task: task(labels),
      predict: async (_x, batch) => Float32Array.from({ length: batch * 2 }, (_, i) => (i % 2 === 1 ? 5 : 0)),
    });
    expect(acc).toBe(0.5);
  });

  it('with T labels per sample (a causal LM), scores every label row: next-token accuracy over all positions', async () => {
    // 3 samples of 2 positions, 4 classes; the model predicts class (sample + position) % 4.
    const labels = Int32Array.from([0, 1, 1, 0, 2, 3]);
    const test: SampleSet = {
      n: 3,
      inputDims: [2],
      targetsPerSample: 2,
      labels,
      gather: (indices) => Float32Array.from(Array.from(indices).flatMap((i) => [i, i])),
    };
    const acc = await topOneAccuracy({
      config: { batchSize: 2 },
      task: { index: 0, name: 't0', classes: [0, 1, 2, 3], train: test, test },
      predict: async (x, batch) => {
        const logits = new Float32Array(batch * 2 * 4);
        for (let k = 0; k < batch; k++) for (let t = 0; t < 2; t++) logits[(k * 2 + t) * 4 + ((x[k * 2] + t) % 4)] = 1;
        return logits;
      },
    });
    // Predicted rows: [0, 1], [1, 2], [2, 3] against [0, 1], [1, 0], [2, 3]: 5 of 6 right.
    expect(acc).toBe(5 / 6);
  });
});
