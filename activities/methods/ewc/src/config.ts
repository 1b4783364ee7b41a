import { z } from 'zod';

/**
 * EWC (Kirkpatrick et al. 2017). The paper gives no single lambda (it is tuned per benchmark);
 * the default is what we measured to work on permuted Fashion-MNIST with the mean
 * cross-entropy loss (README.md says how).
 */
export const ewcConfigSchema = z.strictObject({
  /** Strength of the penalty lambda/2 * sum_i F_i (theta_i - theta*_i)^2. */
  lambda: z.number().min(0).default(50),
  /** Samples of each task the Fisher diagonal averages over (exact per-sample squared gradients). */
  fisherSamples: z.number().int().min(1).default(500),
});

export type EwcConfig = z.output<typeof ewcConfigSchema>;

/** Online EWC (Schwarz et al. 2018): one running Fisher F = gamma * F + F_t and one anchor. */
export const onlineEwcConfigSchema = ewcConfigSchema.extend({
  /** Decay of the running Fisher; 1 keeps every task's weight (the paper uses values just below 1). */
  gamma: z.number().min(0).max(1).default(0.95),
});

export type OnlineEwcConfig = z.output<typeof onlineEwcConfigSchema>;
