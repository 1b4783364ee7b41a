import { z } from 'zod';
import type { InferenceExportOptions, QuantScheme } from '@retain/engine';

/**
 * One of `values`, refused with a message that lists them: a union of literals says only
 * "Invalid input" (e.g. for `bits: 3`).
 */
export function allowedValues<const T extends readonly number[]>(values: T) {
  return z.literal(values, { error: (issue) => `${JSON.stringify(issue.input)} is not allowed; use ${values.join(', ')}` });
}

/**
 * Config fields every weight quantizer shares: what to quantize to (bits, granularity, symmetry)
 * and how to export it. A quantizer's own schema spreads these and adds its parameters.
 */
export const quantizerSchemeFields = {
  /** Integer width of the stored weights. */
  bits: allowedValues([4, 8]).default(8),
  /** One scale per tensor, per output channel, or per block of `blockSize` inputs of each output channel. */
  granularity: z.enum(['per-tensor', 'per-channel', 'block']).default('per-channel'),
  /** Inputs per block along the input dimension (block granularity only). */
  blockSize: allowedValues([16, 32, 64, 128]).default(32),
  /** Symmetric: signed codes, zero point 0. Asymmetric: unsigned codes and an integer zero point per group. */
  symmetric: z.boolean().default(true),
  /** 'qdq': standard ONNX DequantizeLinear (portable); 'matmulnbits': onnxruntime's MatMulNBits (block granularity). */
  format: z.enum(['qdq', 'matmulnbits']).default('qdq'),
  /** MatMulNBits arithmetic: 1 = fp32 (exact dequantize-then-matmul), 4 = int8 activations (faster). */
  accuracyLevel: allowedValues([0, 1, 2, 3, 4]).default(1),
};

export type QuantizerSchemeConfig = {
  [K in keyof typeof quantizerSchemeFields]: z.output<(typeof quantizerSchemeFields)[K]>;
};

export function schemeOf(config: QuantizerSchemeConfig): QuantScheme {
  return {
    bits: config.bits,
    granularity: config.granularity,
    symmetric: config.symmetric,
    ...(config.granularity === 'block' ? { blockSize: config.blockSize } : {}),
  };
}

export function exportOptionsOf(config: QuantizerSchemeConfig): InferenceExportOptions {
  return { format: config.format, accuracyLevel: config.accuracyLevel };
}

/**
 * A label that names what differs from the defaults, e.g. `rtn-int4`, `rtn-int4-block32`,
 * `hqq-int4-block64-asym`, `rtn-int4-block32-nbits`.
 */
export function schemeLabel(prefix: string, config: QuantizerSchemeConfig): string {
  const parts = [`${prefix}-int${config.bits}`];
  if (config.granularity === 'block') parts.push(`block${config.blockSize}`);
  if (config.granularity === 'per-tensor') parts.push('tensor');
  if (!config.symmetric) parts.push('asym');
  if (config.format === 'matmulnbits') parts.push('nbits');
  return parts.join('-');
}

/**
 * A quantizer's config schema: the shared scheme fields plus its own, strict (unknown keys are
 * errors), refusing combinations the export cannot write with the field named.
 */
export function quantizerConfigSchema<S extends z.ZodRawShape>(own: S) {
  return z.strictObject({ ...quantizerSchemeFields, ...own }).superRefine((config, ctx) => {
    const c = config as unknown as QuantizerSchemeConfig;
    if (c.format === 'matmulnbits' && c.granularity !== 'block')
      ctx.addIssue({
        code: 'custom',
        path: ['format'],
        message: `format 'matmulnbits' needs granularity 'block' (got '${c.granularity}'); use format 'qdq' or granularity 'block'`,
      });
  });
}
