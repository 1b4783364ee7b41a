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
  /**
   * 'new': an adapter per task (merged: a fresh A each task; kept: task t trains adapter t, the
   * earlier ones frozen, and with a head per task head t reads adapter t only). 'shared': one
   * adapter for every task (merged: A carried over, B restarts at zero).
   */
  perTask: z.enum(['new', 'shared']).default('new'),
  /**
   * true: after each task W += (alpha / r) A B and the adapter restarts, so quantizers and
   * evaluation see one plain model. false: the adapters stay beside the base (which never changes
   * after the first task): the run's model reads W + (alpha / r) sum of A B, quantizers quantize
   * only W and the adapters stay float32 (README).
   */
  merge: z.boolean().default(true),
  /**
   * The first task trained through adapters; tasks before it train every parameter (naive
   * fine-tuning), e.g. 1 for a benchmark whose task 0 pretrains the model (text-domains): LoRA
   * adapts a trained base, and adapters on a random one learn little.
   */
  fromTask: z.int().min(0).default(0),
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
  /**
   * The id of a quantizer in the spec's `quantizers` (e.g. GPTQ or HQQ int4) whose quantization,
   * dequantized, is the base instead (calibrated on the task's training data); grid, bits and
   * blockSize are then not used.
   */
  quantizer: z.string().min(1).optional(),
});

export const qloraConfigSchema = loraConfigSchema.extend({
  base: qloraBaseSchema.default({ grid: 'int', bits: 4, blockSize: 64 }),
});
export type QloraConfig = z.output<typeof qloraConfigSchema>;
export type QloraBase = QloraConfig['base'];
