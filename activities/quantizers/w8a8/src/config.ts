import { z } from 'zod';
import { quantizerConfigSchema } from '@retain/sdk';

/**
 * W8A8 parameters. Weights: the shared scheme fields (int8 symmetric per-channel by default, as
 * onnxruntime's static quantization does). Activations: one uint8 scale and zero point per MatMul
 * input, calibrated on examples of the task just learned.
 */
export const w8a8ConfigSchema = quantizerConfigSchema({
  /** 'minmax': span every value seen; 'percentile': clip to the [100 - p, p] percentiles. */
  calibration: z.enum(['minmax', 'percentile']).default('minmax'),
  /** p for percentile calibration (onnxruntime's calibrator default is 99.999). */
  percentile: z.number().gt(50).max(100).default(99.999),
  /** Calibration examples drawn (seeded) from the training data of the task just learned. */
  calibrationSize: z.number().int().min(1).max(60_000).default(1024),
  /** int8 activations with zero point 0 instead of uint8 with a zero point. */
  signedActivations: z.boolean().default(false),
});
export type W8a8Config = z.output<typeof w8a8ConfigSchema>;
