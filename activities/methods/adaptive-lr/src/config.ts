import { z } from 'zod';

/**
 * Adaptive learning rates against forgetting. Our own combination of two simple ideas (no single
 * paper): a per-task schedule lr_t = lr * taskDecay^t, and steps scaled per parameter by
 * 1 / (1 + strength * F_i) with F the Fisher diagonal summed over earlier tasks (as EWC's), so
 * weights important to earlier tasks move less.
 */
export const configSchema = z.strictObject({
  /** lr on task t is lr * taskDecay^t; 1 keeps the trainer's lr. */
  taskDecay: z.number().positive().max(1).default(1),
  /** Importance scaling: 0 turns it off. */
  strength: z.number().min(0).default(1000),
  /** Samples each task's Fisher diagonal averages over. */
  fisherSamples: z.number().int().min(1).default(500),
});

export type Config = z.output<typeof configSchema>;
