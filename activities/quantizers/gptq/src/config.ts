import { z } from 'zod';
import { allowedValues, quantizerConfigSchema } from '@retain/sdk';

/**
 * GPTQ parameters; defaults from Frantar et al., "GPTQ: Accurate Post-Training Quantization for
 * Generative Pre-trained Transformers" (ICLR 2023) and its reference code: dampening 1% of the
 * mean Hessian diagonal, lazy batches of 128 columns, 4-bit.
 */
export const gptqConfigSchema = quantizerConfigSchema({
  bits: allowedValues([4, 8]).default(4),
  /** Calibration examples drawn (seeded) from the training data of the task just learned. */
  calibrationSize: z.number().int().min(1).max(60_000).default(1024),
  /** Added to the Hessian's diagonal, as a fraction of its mean diagonal: keeps H invertible. */
  dampening: z.number().min(0).max(1).default(0.01),
  /** Columns (input features) quantized together before their error is pushed to the rest: the lazy batch update. */
  lazyBatch: z.number().int().min(1).default(128),
  /** Quantize layers in forward order, each calibrated on activations of the already-quantized layers before it. */
  sequential: z.boolean().default(true),
});
export type GptqConfig = z.output<typeof gptqConfigSchema>;
