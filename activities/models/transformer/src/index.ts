import { z } from 'zod';
import { definePlugin } from '@retain/sdk';
import { transformer } from '@retain/engine';

export const transformerConfigSchema = z
  .strictObject({
    /** Embedding width D. */
    width: z.number().int().min(1).default(64),
    /** Transformer blocks. */
    depth: z.number().int().min(1).default(2),
    /** Attention heads per block; must divide width. */
    attentionHeads: z.number().int().min(1).default(4),
    /** MLP hidden width as a multiple of width. */
    mlpRatio: z.number().int().min(1).default(4),
    /** Token vocabulary: 256 for bytes. */
    vocab: z.number().int().min(2).default(256),
    /** Dropout on the embeddings and residual branches while training; masks are seeded per run and step. */
    dropout: z.number().min(0).lt(1).default(0),
  })
  .refine((c) => c.width % c.attentionHeads === 0, {
    path: ['attentionHeads'],
    error: (issue) => {
      const c = issue.input as { width: number; attentionHeads: number };
      return `${c.attentionHeads} does not divide width ${c.width}; use a divisor of it (each head gets width / attentionHeads channels)`;
    },
  });
export type TransformerConfig = z.output<typeof transformerConfigSchema>;

/**
 * A tiny decoder-only transformer over byte windows: the scenario's inputs are [context] token
 * ids; it predicts from the last position (e.g. the next byte), with one shared head or a head per task.
 */
export const transformerModel = definePlugin({
  kind: 'model',
  name: 'transformer',
  version: '0.1.0',
  description: 'Tiny decoder-only transformer (byte-level tokens, causal attention, pre-LayerNorm); predicts from the last position.',
  configSchema: transformerConfigSchema,
  build: (config: TransformerConfig, scenario) => {
    if (scenario.inputDims.length !== 1)
      throw new Error(`model transformer: inputs must be [context] token ids, the benchmark gives [${scenario.inputDims.join(', ')}]`);
    if (config.width % config.attentionHeads !== 0)
      throw new Error(`model transformer: width ${config.width} must be divisible by attentionHeads ${config.attentionHeads}`);
    return transformer({
      vocab: config.vocab,
      context: scenario.inputDims[0],
      width: config.width,
      depth: config.depth,
      attentionHeads: config.attentionHeads,
      mlpRatio: config.mlpRatio,
      dropout: config.dropout,
      heads: scenario.heads,
      classesPerHead: scenario.classesPerHead,
    });
  },
  /**
   * Per example, with T = context, D = width, H = attentionHeads, r = mlpRatio: a block keeps its
   * norms, q/k/v, projections and residuals (about 9 T D), the MLP's hidden layer before and after
   * GELU (2 r T D) and the attention scores and their softmax (2 H T^2); evaluation holds every
   * block's scores and softmax (measured: 35 MB an example at T = 784, H = 4, depth 2) and the
   * widest layers.
   */
  activations: (config: TransformerConfig, scenario) => {
    const T = scenario.inputDims[0] ?? 1;
    const { width: D, attentionHeads: H, mlpRatio: r, depth } = config;
    const block = (9 + 2 * r) * T * D + 2 * H * T * T;
    return { train: depth * block + 2 * T * D, evaluate: depth * 2 * H * T * T + (4 + 2 * r) * T * D };
  },
});
