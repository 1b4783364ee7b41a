import { z } from 'zod';

/** The projections of Retain's transformers (`transformer`, `causal-lm`) that get adapters when `targets` is not given. */
export const DEFAULT_TARGETS = ['attn.qkv', 'attn.proj', 'mlp.fc', 'mlp.gate', 'mlp.up', 'mlp.proj'];

/**
 * LoRA (Hu et al. 2021, arXiv:2106.09685): the base frozen, a rank-r adapter W + (alpha / r) A B
 * trained on each targeted weight. rank 8 and alpha 16 are common fine-tuning settings (the
 * paper's GPT-3 runs use r = 1..8 with alpha = r; QLoRA's use r = 64, alpha = 16).
 */
export const loraConfigSchema = z.strictObject({
  /** Rank r of each adapter: A is [in, r], B is [r, out]. */
  rank: z.int().min(1).default(8),
  /** The product A B is scaled by alpha / rank. */
  alpha: z.number().positive().default(16),
  /**
   * Which weights get adapters: a name matches a matrix parameter whose dotted name contains it
   * as whole segments (`attn.qkv` matches `block.0.attn.qkv.weight`; `trunk.0` matches
   * `trunk.0.weight`). Each listed name must match one. Absent: the attention and MLP projections
   * (DEFAULT_TARGETS) that the model has.
   */
  targets: z.array(z.string().min(1)).min(1).optional(),
  /** 'new': fresh adapters for every task (A drawn anew); 'shared': one A carried from task to task (B restarts at zero after each merge). */
  perTask: z.enum(['new', 'shared']).default('new'),
  /**
   * Merge after each task: W += (alpha / r) A B, then the adapter restarts (B = 0), so quantizers
   * and evaluation see one plain model. Only true for now (README: what false would take).
   */
  merge: z
    .literal(true, {
      error:
        'merge: false (adapters kept beside the base, quantized apart from it) is not implemented yet; set merge: true, or leave it out',
    })
    .default(true),
});
export type LoraConfig = z.output<typeof loraConfigSchema>;

/**
 * QLoRA's base (Dettmers et al. 2023, arXiv:2305.14314): each targeted weight, at the start of a
 * task, replaced by its quantize-dequantize on symmetric absmax blocks of `blockSize` input rows,
 * frozen, so the adapters train on top of what a 4-bit base computes.
 */
export const qloraBaseSchema = z.strictObject({
  /** 'int': RTN on signed codes [-(2^(b-1) - 1), 2^(b-1) - 1] (what the rtn quantizer computes); 'nf4': QLoRA's NormalFloat4 levels (4 bits only). */
  grid: z.enum(['int', 'nf4']).default('int'),
  bits: z.union([z.literal(4), z.literal(8)]).default(4),
  /** Input rows per block (QLoRA: 64). */
  blockSize: z.int().min(1).default(64),
});

export const qloraConfigSchema = loraConfigSchema.extend({
  base: qloraBaseSchema.default({ grid: 'int', bits: 4, blockSize: 64 }),
});
export type QloraConfig = z.output<typeof qloraConfigSchema>;
export type QloraBase = QloraConfig['base'];
