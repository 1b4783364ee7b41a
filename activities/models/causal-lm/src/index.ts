import { z } from 'zod';
import { definePlugin, SpecError } from '@retain/sdk';
import { causalLm, mlpHidden } from '@retain/engine';
import type { ScenarioInfo } from '@retain/data';

export const causalLmConfigSchema = z
  .strictObject({
    /** Token ids 0..vocab-1 (256: bytes); must equal the benchmark's classes (its token count). */
    vocab: z.number().int().min(2).default(256),
    /** Embedding width D. */
    width: z.number().int().min(1).default(128),
    /** Transformer blocks. */
    depth: z.number().int().min(1).default(4),
    /** Attention heads per block; must divide width (into an even head width with rotary positions). */
    attentionHeads: z.number().int().min(1).default(4),
    /** MLP hidden width as a multiple of width (SwiGLU takes 2/3 of it, rounded to a multiple of 8). */
    mlpRatio: z.number().positive().default(4),
    /** Normalisation before each branch and at the end. */
    norm: z.enum(['rmsnorm', 'layernorm']).default('rmsnorm'),
    /** Rotary (no parameters) or a learned [context, width] table. */
    positions: z.enum(['rotary', 'learned']).default('rotary'),
    /** SwiGLU (three matrices) or GELU (two) MLP. */
    mlp: z.enum(['swiglu', 'gelu']).default('swiglu'),
    /** The output matrix is the token embedding transposed. */
    tieEmbeddings: z.boolean().default(true),
    /** Dropout on the embeddings and residual branches while training; masks are seeded per run and step. */
    dropout: z.number().min(0).lt(1).default(0),
  })
  .refine((c) => c.width % c.attentionHeads === 0, {
    path: ['attentionHeads'],
    error: (issue) => {
      const c = issue.input as { width: number; attentionHeads: number };
      return `${c.attentionHeads} does not divide width ${c.width}; use a divisor of it (each head gets width / attentionHeads channels)`;
    },
  })
  .refine((c) => c.positions !== 'rotary' || (c.width / c.attentionHeads) % 2 === 0, {
    path: ['attentionHeads'],
    error: (issue) => {
      const c = issue.input as { width: number; attentionHeads: number };
      return `rotary positions turn channel pairs, so width / attentionHeads must be even (${c.width} / ${c.attentionHeads} = ${c.width / c.attentionHeads}); change attentionHeads or width, or use positions 'learned'`;
    },
  });
export type CausalLmPluginConfig = z.output<typeof causalLmConfigSchema>;

/**
 * A decoder-only language model trained on next-token loss at every position: the benchmark's
 * samples are [context] token ids with `context` labels each (targetsPerSample = context), its
 * classes the vocabulary, one shared head.
 */
export const causalLmModel = definePlugin({
  kind: 'model',
  name: 'causal-lm',
  version: '0.1.0',
  description:
    'Decoder-only causal language model (RMSNorm/LayerNorm, rotary/learned positions, SwiGLU/GELU, tied embeddings) trained on the next token at every position.',
  configSchema: causalLmConfigSchema,
  build: (config: CausalLmPluginConfig, scenario: ScenarioInfo) => {
    if (scenario.inputDims.length !== 1)
      throw new SpecError(
        'model',
        `causal-lm reads [context] token ids; benchmark ${scenario.name} gives inputs [${scenario.inputDims.join(', ')}]`,
      );
    if (scenario.heads !== 1)
      throw new SpecError(
        'model',
        `causal-lm has one head, its vocabulary, shared by every task; benchmark ${scenario.name} gives ${scenario.heads} heads (task-incremental): use a scenario with one shared head`,
      );
    if (scenario.classesPerHead !== config.vocab)
      throw new SpecError(
        'model.config.vocab',
        `${config.vocab} tokens, but benchmark ${scenario.name}'s tokens are 0..${scenario.classesPerHead - 1}; set vocab to ${scenario.classesPerHead}`,
      );
    return causalLm({ ...config, context: scenario.inputDims[0] });
  },
  /**
   * Per example, with T = context, D = width, h = the MLP's hidden width, H = attentionHeads, V =
   * vocab: a block keeps its two norms, q/k/v and their rotary turns, the attention output,
   * projection and residuals (about 14 T D), the MLP's hidden values (5 T h for SwiGLU: gate,
   * sigmoid, silu, up, product; 4 T h for GELU) and the scores and their softmax (2 H T^2); the
   * logits and their log-softmax add 2 T V. Evaluation holds every block's scores and softmax,
   * as the transformer's does, and the widest layers.
   */
  activations: (config: CausalLmPluginConfig, scenario: ScenarioInfo) => {
    const T = scenario.inputDims[0] ?? 1;
    const { width: D, attentionHeads: H, depth } = config;
    const h = mlpHidden(config);
    const block = 14 * T * D + (config.mlp === 'swiglu' ? 5 : 4) * T * h + 2 * H * T * T;
    return {
      train: depth * block + 2 * T * D + 2 * T * config.vocab,
      evaluate: depth * 2 * H * T * T + 4 * T * D + 2 * T * h + 2 * T * config.vocab,
    };
  },
});
