import { z } from 'zod';

/**
 * EWC (Kirkpatrick et al. 2017). The paper gives no single lambda (it is tuned per benchmark);
 * the defaults come from a search on 10-task permuted Fashion-MNIST with the results sweep's
 * trainer (README.md gives the values tried and what each gave).
 */
export const ewcConfigSchema = z.strictObject({
  /** Strength of the penalty lambda/2 * sum_j sum_i F_j,i (theta_i - theta*_j,i)^2. */
  lambda: z.number().min(0).default(1),
  /**
   * Samples of each task the Fisher diagonal averages over (exact per-sample squared gradients), a
   * seeded subset; 'all': every training sample of the task (README.md gives its cost and effect).
   */
  fisherSamples: z.union([z.number().int().min(1), z.literal('all')]).default(500),
  /**
   * When lr * lambda * max F reaches the trainer's stability bound (README): true clips F to 90%
   * of it; absent or false fails the run then, naming the numbers.
   */
  curvatureClip: z.boolean().optional(),
});
export type EwcConfig = z.output<typeof ewcConfigSchema>;

/** Online EWC (Schwarz et al. 2018): one running Fisher F = gamma * F + F_t and one anchor. */
export const onlineEwcConfigSchema = ewcConfigSchema.extend({
  /** Strength of the penalty lambda/2 * sum_i F_i (theta_i - theta*_i)^2 (searched like EWC's). */
  lambda: z.number().min(0).default(20),
  /** Decay of the running Fisher; 1 keeps every task's weight (the paper uses values just below 1). */
  gamma: z.number().min(0).max(1).default(0.95),
});
export type OnlineEwcConfig = z.output<typeof onlineEwcConfigSchema>;
