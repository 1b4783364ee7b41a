import { z } from 'zod';
import { definePlugin, type EvaluateContext } from '@retain/sdk';
import { gatherLabels, targetsOf } from '@retain/data';

export const accuracyConfigSchema = z.strictObject({
  /** Test samples per inference call; affects speed only, never the result. */
  batchSize: z.number().int().min(1).default(1000),
});
export type AccuracyConfig = z.output<typeof accuracyConfigSchema>;

/**
 * Top-1 accuracy on the task's test set, under the task's head: over every label row, so for a
 * causal LM (T labels per sample) it is next-token accuracy over every position.
 */
export const accuracyEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'accuracy',
  version: '0.1.0',
  description: 'Top-1 accuracy on the test set of each task.',
  configSchema: accuracyConfigSchema,
  batchSize: (config: AccuracyConfig) => config.batchSize,
  evaluate: async (ctx: EvaluateContext<AccuracyConfig>) => ({ accuracy: await topOneAccuracy(ctx) }),
});

export async function topOneAccuracy({ config, task, predict }: EvaluateContext<AccuracyConfig>): Promise<number> {
  const test = task.test;
  const targets = targetsOf(test);
  let correct = 0;
  for (let start = 0; start < test.n; start += config.batchSize) {
    const end = Math.min(start + config.batchSize, test.n);
    const indices = Int32Array.from({ length: end - start }, (_, i) => start + i);
    const logits = await predict(test.gather(indices), end - start);
    const labels = gatherLabels(test, indices);
    const classes = logits.length / labels.length;
    for (let i = 0; i < labels.length; i++) {
      if (argmax(logits, i * classes, classes) === labels[i]) correct++;
    }
  }
  return test.n === 0 ? 0 : correct / (test.n * targets);
}

/** First index of the largest value, as ONNX ArgMax does. */
function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let k = 1; k < length; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}
