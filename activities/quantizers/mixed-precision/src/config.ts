import { z } from 'zod';
import { allowedValues } from '@retain/sdk';

/**
 * Mixed precision's parameters. The budget defaults to int4's bytes (4 bits a weight plus one
 * float32 scale per block: RTN int4 block-wise at the same block size), the widths to the usual
 * 2/3/4/8, the importance to the method's Fisher when it keeps one.
 */
export const mixedPrecisionConfigSchema = z
  .strictObject({
    /** The widths a band of `blockSize` input rows may get, in bits (2..8). */
    choices: z
      .array(z.number().int().min(2).max(8))
      .min(1)
      .default([2, 3, 4, 8])
      .refine((c) => new Set(c).size === c.length, { message: 'choices must not repeat a width' })
      .transform((c) => [...c].sort((a, b) => a - b)),
    /**
     * The budget, as average bits per quantized weight: the model may take no more bytes than
     * RTN block-wise at this width would (4: RTN int4 block-wise's ONNX model bytes exactly).
     */
    budgetBits: z.number().min(2).max(8).default(4),
    /** Input rows per band: one width and one float32 scale per output column per band (RTN's block). */
    blockSize: allowedValues([16, 32, 64, 128]).default(32),
    /**
     * What weighs each weight's squared error: 'fisher' the method's Fisher diagonal (EWC, online
     * EWC; an error if it keeps none), 'proxy' the diagonal empirical Fisher over every task seen
     * so far (computed here), 'auto' the first if the method keeps one, else the second.
     */
    importance: z.enum(['auto', 'fisher', 'proxy']).default('auto'),
    /** Samples per task the proxy's mean squared gradient is taken over (seeded draw). */
    proxySamples: z.number().int().min(1).max(60_000).default(256),
  })
  .superRefine((config, ctx) => {
    if (config.budgetBits < config.choices[0])
      ctx.addIssue({
        code: 'custom',
        path: ['budgetBits'],
        message: `budgetBits ${config.budgetBits} is below the narrowest of choices (${config.choices[0]} bits): raise budgetBits or add a narrower width to choices`,
      });
  });
export type MixedPrecisionConfig = z.output<typeof mixedPrecisionConfigSchema>;
