import { z } from 'zod';
import { allowedValues, quantizerConfigSchema } from '@retain/sdk';

/**
 * HQQ parameters; defaults from Badri & Shaji, "Half-Quadratic Quantization of Large Machine
 * Learning Models" (2023) and its reference code: lp-norm p = 0.7, beta = 10, kappa = 1.01,
 * 20 iterations, groups of 64, asymmetric 4-bit.
 */
export const hqqConfigSchema = quantizerConfigSchema({
  bits: allowedValues([4, 8]).default(4),
  granularity: z.enum(['per-tensor', 'per-channel', 'block']).default('block'),
  blockSize: allowedValues([16, 32, 64, 128]).default(64),
  /** HQQ optimizes zero points, so its natural scheme is asymmetric; symmetric needs optimizeScale. */
  symmetric: z.boolean().default(false),
  /** The p < 1 of the sparsity-promoting lp norm of the weight error. */
  lpNorm: z.number().gt(0).lt(1).default(0.7),
  /** Initial weight of the quadratic coupling term of the half-quadratic split. */
  beta: z.number().positive().default(10),
  /** beta grows by this factor each iteration. */
  kappa: z.number().min(1).default(1.01),
  iterations: z.number().int().min(1).max(1000).default(20),
  /**
   * Also refit the scale (least squares, together with the zero point) at each iteration. On by
   * default: stored zero points are integers, and with the min-max scale fixed the zero-only update
   * cannot leave RTN's grid (measured: identical error), so the scale is what HQQ can improve here.
   */
  optimizeScale: z.boolean().default(true),
});
export type HqqConfig = z.output<typeof hqqConfigSchema>;
