import { z } from 'zod';
import { targetsOf } from '@retain/data';
import { definePlugin, type EvaluateContext } from '@retain/sdk';

export const perplexityConfigSchema = z.strictObject({
  /** Test samples per inference call; affects speed only, never the result. */
  batchSize: z.number().int().min(1).default(1000),
});
export type PerplexityConfig = z.output<typeof perplexityConfigSchema>;

/** What the evaluator reports for one task: over every label row of its test set. */
export interface NextTokenScores {
  /** Mean cross-entropy in nats (the log-perplexity). */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Share of label rows whose top-1 logit is the label. */
  tokenAccuracy: number;
}

/**
 * Cross-entropy, perplexity and top-1 accuracy on the task's test set, over every label row: a
 * causal LM's sample of T tokens counts T rows (each position predicts the next token), a
 * classifier's sample one. Loss is in nats, so perplexity = exp(loss).
 */
export const perplexityEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'perplexity',
  version: '0.1.0',
  description: 'Mean next-token cross-entropy (nats), perplexity and top-1 token accuracy on the test set of each task.',
  configSchema: perplexityConfigSchema,
  batchSize: (config: PerplexityConfig) => config.batchSize,
  evaluate: async (ctx: EvaluateContext<PerplexityConfig>) => {
    const { loss, perplexity, tokenAccuracy } = await nextTokenScores(ctx);
    return { loss, perplexity, tokenAccuracy };
  },
});

/** The task's test set through `predict` in batches of config.batchSize samples. */
export async function nextTokenScores({ config, task, predict }: EvaluateContext<PerplexityConfig>): Promise<NextTokenScores> {
  const test = task.test;
  const perSample = targetsOf(test);
  if (test.n === 0) throw new Error(`perplexity: task ${task.index} ('${task.name}') has no test samples to score`);
  if (test.labels.length !== test.n * perSample)
    throw new Error(
      `perplexity: task ${task.index}'s test set has ${test.labels.length} labels for ${test.n} samples of ${perSample} targets each (expected ${test.n * perSample})`,
    );
  let nats = 0;
  let correct = 0;
  for (let start = 0; start < test.n; start += config.batchSize) {
    const end = Math.min(start + config.batchSize, test.n);
    const indices = Int32Array.from({ length: end - start }, (_, i) => start + i);
    const logits = await predict(test.gather(indices), end - start);
    const rows = (end - start) * perSample;
    const classes = logits.length / rows;
    if (!Number.isInteger(classes) || classes < 1)
      throw new Error(
        `perplexity: predict returned ${logits.length} logits for ${rows} label rows (${end - start} samples x ${perSample} targets); expected rows x classesPerHead`,
      );
    const labels = test.labels.subarray(start * perSample, end * perSample);
    for (let r = 0; r < rows; r++) {
      const label = labels[r];
      if (label < 0 || label >= classes)
        throw new Error(`perplexity: label ${label} of row ${start * perSample + r} is outside the head's ${classes} classes`);
      const row = logits.subarray(r * classes, (r + 1) * classes);
      nats += logSumExp(row) - row[label];
      if (argmax(row) === label) correct++;
    }
  }
  const loss = nats / (test.n * perSample);
  return { loss, perplexity: Math.exp(loss), tokenAccuracy: correct / (test.n * perSample) };
}

/**
 * log Σ exp(row) in float64, shifted by the row's maximum so no term overflows; the cross-entropy
 * of a row is this minus the label's logit (a numerically stable log-softmax). Throws on a
 * logit that is not finite.
 */
export function logSumExp(row: ArrayLike<number>): number {
  let max = -Infinity;
  for (let k = 0; k < row.length; k++) {
    // A NaN or infinite logit (a diverged model) has no cross-entropy; JSON would turn it into null.
    if (!Number.isFinite(row[k]))
      throw new Error(`perplexity: logit ${k} of a row is ${row[k]}; the model's output is not finite (did training diverge?)`);
    if (row[k] > max) max = row[k];
  }
  let sum = 0;
  for (let k = 0; k < row.length; k++) sum += Math.exp(row[k] - max);
  return max + Math.log(sum);
}

/** First index of the largest value, as ONNX ArgMax (and the accuracy evaluator) does. */
function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}
