import {
  add,
  cast,
  causalMask,
  dropout,
  embedding,
  gelu,
  layerNorm,
  matmul,
  mul,
  reshape,
  slice,
  softmax,
  split,
  transpose,
  type Graph,
  type Tensor,
} from '../graph';
import { checkPositiveIntegers, linear, linearParams, paramOf, taskHeads } from './layers';
import type { BufferSpec, ForwardMode, Model, ParamSpec } from './model';

export interface TransformerConfig {
  /** Token ids are 0..vocab-1; 256 for bytes. */
  vocab: number;
  /** Tokens per example (the attention window). */
  context: number;
  /** Embedding width D. */
  width: number;
  /** Number of transformer blocks. */
  depth: number;
  /** Attention heads per block; must divide width. */
  attentionHeads: number;
  /** Task heads (1 = shared). */
  heads: number;
  /** Classes of each task head; default vocab (next-token prediction). */
  classesPerHead?: number;
  /** Hidden width of each block's MLP as a multiple of D (default 4). */
  mlpRatio?: number;
  /**
   * Dropout rate on the embeddings and on each residual branch, training only (default 0).
   * Masks come from the buffers 'dropout.seed' (per run) and 'dropout.step' (counted by the
   * training step graph), so a resumed run draws the masks an uninterrupted one would.
   */
  dropout?: number;
}

/** Dropout sites per step: the embeddings, then two per block; each gets its own mask stream. */
const SITES_PER_STEP = 64;

/**
 * A decoder-only (GPT-style, pre-LayerNorm) transformer over token ids, predicting from the
 * last position: x is [B, context] token ids (as float32, the engine's input type; cast to int64
 * inside), logits are [B, classesPerHead], e.g. the next byte. Causal self-attention, GELU MLP,
 * learned position embeddings; one linear head per task or a shared head.
 */
export function transformer(cfg: TransformerConfig): Model {
  const { vocab, context: T, width: D, depth, attentionHeads: H, heads } = cfg;
  const classes = cfg.classesPerHead ?? vocab;
  const ratio = cfg.mlpRatio ?? 4;
  checkPositiveIntegers('transformer', {
    vocab,
    context: T,
    width: D,
    depth,
    attentionHeads: H,
    heads,
    classesPerHead: classes,
    mlpRatio: ratio,
  });
  if (D % H !== 0) throw new Error(`transformer: width ${D} must be divisible by attentionHeads ${H}`);
  const rate = cfg.dropout ?? 0;
  if (!(rate >= 0 && rate < 1)) throw new Error(`transformer: dropout must be in [0, 1), got ${rate}`);
  if (rate > 0 && 1 + 2 * depth > SITES_PER_STEP)
    throw new Error(`transformer: dropout supports depth up to ${(SITES_PER_STEP - 2) / 2}, got ${depth}`);
  const buffers: BufferSpec[] =
    rate > 0
      ? [
          { name: 'dropout.seed', dims: [], init: 'seed' },
          { name: 'dropout.step', dims: [], init: 'zeros' },
        ]
      : [];
  const dh = D / H;
  const norm = (prefix: string): ParamSpec[] => [
    { name: `${prefix}.gamma`, dims: [D], init: 'ones' },
    { name: `${prefix}.beta`, dims: [D], init: 'zeros' },
  ];
  const trunk: ParamSpec[] = [
    { name: 'embed.token', dims: [vocab, D], init: 'normal', std: 0.02 },
    { name: 'embed.position', dims: [T, D], init: 'normal', std: 0.02 },
    ...Array.from({ length: depth }, (_, i) => [
      ...norm(`block.${i}.ln1`),
      ...linearParams(`block.${i}.attn.qkv`, D, 3 * D, 'xavier'),
      ...linearParams(`block.${i}.attn.proj`, D, D, 'xavier'),
      ...norm(`block.${i}.ln2`),
      ...linearParams(`block.${i}.mlp.fc`, D, ratio * D, 'xavier'),
      ...linearParams(`block.${i}.mlp.proj`, ratio * D, D, 'xavier'),
    ]).flat(),
    ...norm('final.ln'),
  ];
  const taskHead = taskHeads('transformer', heads, D, classes);

  const ln = (params: Record<string, Tensor>, prefix: string, x: Tensor) =>
    layerNorm(x, paramOf('transformer', params, `${prefix}.gamma`), paramOf('transformer', params, `${prefix}.beta`));

  /** Causal multi-head self-attention on [B, T, D]. */
  const attention = (params: Record<string, Tensor>, prefix: string, x: Tensor): Tensor => {
    const qkv = linear('transformer', params, `${prefix}.qkv`, x); // [B, T, 3D]
    const [q, k, v] = split(qkv, [D, D, D], 2).map((t) => transpose(reshape(t, [0, T, H, dh]), [0, 2, 1, 3])); // [B, H, T, dh]
    const scores = mul(matmul(q, transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(dh)); // [B, H, T, T]
    const mixed = matmul(softmax(causalMask(scores), -1), v); // [B, H, T, dh]
    return linear('transformer', params, `${prefix}.proj`, reshape(transpose(mixed, [0, 2, 1, 3]), [0, T, D]));
  };

  /**
   * Dropout for this forward pass: identity outside training; in training, site k's mask seed is
   * dropout.seed * 2^32 + dropout.step * SITES_PER_STEP + k, and the step counter advances by one
   * (a float32 buffer like every other: exact up to 2^24 = 16.7M steps).
   */
  const dropoutSites = (params: Record<string, Tensor>, mode?: ForwardMode) => {
    if (!mode?.training || rate === 0) return (t: Tensor, _site: number) => t;
    const step = paramOf('transformer', params, 'dropout.step');
    if (mode.bufferUpdates) mode.bufferUpdates['dropout.step'] = add(step, 1);
    const seed = cast(paramOf('transformer', params, 'dropout.seed'), 'int64');
    const base = add(mul(seed, 2 ** 32), mul(cast(step, 'int64'), SITES_PER_STEP));
    return (t: Tensor, site: number) => dropout(t, rate, add(base, site));
  };

  return {
    name: `transformer-${vocab}v-${T}t-${D}d-${depth}l-${H}h${heads > 1 ? `x${heads}` : ''}`,
    inputDims: [T],
    heads,
    classesPerHead: classes,
    params: [...trunk, ...taskHead.params.flat()],
    paramsForHead: (head) => [...trunk, ...taskHead.params[taskHead.index(head)]].map((p) => p.name),
    ...(buffers.length > 0 ? { buffers } : {}),
    forward(g: Graph, params: Record<string, Tensor>, x: Tensor, head: number, mode?: ForwardMode): Tensor {
      const prefix = taskHead.prefix(head);
      if (x.rank !== 2 || x.dims[1] !== T) throw new Error(`transformer: x must be [B, ${T}] token ids, got ${x}`);
      const drop = dropoutSites(params, mode);
      const tokens = embedding(paramOf('transformer', params, 'embed.token'), cast(x, 'int64'));
      let h = drop(add(tokens, paramOf('transformer', params, 'embed.position')), 0);
      for (let i = 0; i < depth; i++) {
        h = add(h, drop(attention(params, `block.${i}.attn`, ln(params, `block.${i}.ln1`, h)), 1 + 2 * i));
        const hidden = gelu(linear('transformer', params, `block.${i}.mlp.fc`, ln(params, `block.${i}.ln2`, h)));
        h = add(h, drop(linear('transformer', params, `block.${i}.mlp.proj`, hidden), 2 + 2 * i));
      }
      const last = ln(params, 'final.ln', reshape(slice(h, [T - 1], [T], [1]), [-1, D])); // [B, D]
      return linear('transformer', params, prefix, last);
    },
  };
}
