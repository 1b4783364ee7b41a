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
  rmsNorm,
  rotary,
  silu,
  softmax,
  split,
  transpose,
  type Graph,
  type Tensor,
} from '../graph';
import { checkPositiveIntegers, linear, linearParams, paramOf } from './layers';
import type { BufferSpec, ForwardMode, Model, ParamSpec } from './model';

export interface CausalLmConfig {
  /** Token ids are 0..vocab-1; 256 for bytes. The vocabulary is the model's one head. */
  vocab: number;
  /** Tokens per example (the attention window); every one of them is predicted. */
  context: number;
  /** Embedding width D. */
  width: number;
  /** Number of transformer blocks. */
  depth: number;
  /** Attention heads per block; must divide width (and leave an even head width for rotary positions). */
  attentionHeads: number;
  /** MLP hidden width as a multiple of D (default 4); SwiGLU takes 2/3 of it (see `mlpHidden`). */
  mlpRatio?: number;
  /** 'rmsnorm' (default, as LLaMA) or 'layernorm' (as GPT-2), before each block's branches and at the end. */
  norm?: 'layernorm' | 'rmsnorm';
  /** 'rotary' (default: queries and keys rotated by position, no parameters) or 'learned' (a [context, D] table). */
  positions?: 'learned' | 'rotary';
  /** 'swiglu' (default: silu(x Wg) * (x Wu) then Wd) or 'gelu' (two matrices). */
  mlp?: 'gelu' | 'swiglu';
  /** The output matrix is the token embedding transposed (default true): vocab * D fewer params. */
  tieEmbeddings?: boolean;
  /**
   * Dropout rate on the embeddings and on each residual branch, training only (default 0), with
   * masks drawn as transformer.ts draws them (buffers 'dropout.seed' and 'dropout.step').
   */
  dropout?: number;
}

/** Dropout sites per step: the embeddings, then two per block; each gets its own mask stream. */
const SITES_PER_STEP = 64;

/**
 * SwiGLU's hidden width: 2/3 of mlpRatio * D, rounded to a multiple of 8, so its three matrices
 * hold about as many weights as a GELU MLP's two (as LLaMA sizes it).
 */
export function mlpHidden(cfg: Pick<CausalLmConfig, 'width' | 'mlpRatio' | 'mlp'>): number {
  const ratio = cfg.mlpRatio ?? 4;
  if ((cfg.mlp ?? 'swiglu') === 'gelu') return Math.round(ratio * cfg.width);
  return Math.max(8, Math.round((2 * ratio * cfg.width) / 3 / 8) * 8);
}

/**
 * A decoder-only (pre-norm) transformer language model: x is [B, context] token ids (float32,
 * the engine's input type; cast to int64 inside), logits are [B * context, vocab], row
 * b * context + t predicting the token after position t of example b (targetsPerExample =
 * context), so a step trains on every position at once. Causal self-attention: position t reads
 * positions 0..t only.
 */
export function causalLm(cfg: CausalLmConfig): Model {
  const { vocab: V, context: T, width: D, depth, attentionHeads: H } = cfg;
  const ratio = cfg.mlpRatio ?? 4;
  const norm = cfg.norm ?? 'rmsnorm';
  const positions = cfg.positions ?? 'rotary';
  const mlpKind = cfg.mlp ?? 'swiglu';
  const tied = cfg.tieEmbeddings ?? true;
  checkPositiveIntegers('causal-lm', { vocab: V, context: T, width: D, depth, attentionHeads: H });
  if (!(ratio > 0)) throw new Error(`causal-lm: mlpRatio must be positive, got ${ratio}`);
  if (D % H !== 0) throw new Error(`causal-lm: width ${D} must be divisible by attentionHeads ${H}`);
  const dh = D / H;
  if (positions === 'rotary' && dh % 2 !== 0)
    throw new Error(`causal-lm: rotary positions need an even head width; width / attentionHeads = ${D} / ${H} = ${dh}`);
  const rate = cfg.dropout ?? 0;
  if (!(rate >= 0 && rate < 1)) throw new Error(`causal-lm: dropout must be in [0, 1), got ${rate}`);
  if (rate > 0 && 1 + 2 * depth > SITES_PER_STEP)
    throw new Error(`causal-lm: dropout supports depth up to ${(SITES_PER_STEP - 2) / 2}, got ${depth}`);
  const hidden = mlpHidden(cfg);
  const buffers: BufferSpec[] =
    rate > 0
      ? [
          { name: 'dropout.seed', dims: [], init: 'seed' },
          { name: 'dropout.step', dims: [], init: 'zeros' },
        ]
      : [];

  const normParams = (prefix: string): ParamSpec[] => [
    { name: `${prefix}.gamma`, dims: [D], init: 'ones' },
    ...(norm === 'layernorm' ? [{ name: `${prefix}.beta`, dims: [D], init: 'zeros' as const }] : []),
  ];
  const mlpParams = (prefix: string): ParamSpec[] =>
    mlpKind === 'swiglu'
      ? [
          ...linearParams(`${prefix}.gate`, D, hidden, 'xavier'),
          ...linearParams(`${prefix}.up`, D, hidden, 'xavier'),
          ...linearParams(`${prefix}.proj`, hidden, D, 'xavier'),
        ]
      : [...linearParams(`${prefix}.fc`, D, hidden, 'xavier'), ...linearParams(`${prefix}.proj`, hidden, D, 'xavier')];
  const params: ParamSpec[] = [
    { name: 'embed.token', dims: [V, D], init: 'normal', std: 0.02 },
    ...(positions === 'learned' ? [{ name: 'embed.position', dims: [T, D], init: 'normal' as const, std: 0.02 }] : []),
    ...Array.from({ length: depth }, (_, i) => [
      ...normParams(`block.${i}.norm1`),
      ...linearParams(`block.${i}.attn.qkv`, D, 3 * D, 'xavier'),
      ...linearParams(`block.${i}.attn.proj`, D, D, 'xavier'),
      ...normParams(`block.${i}.norm2`),
      ...mlpParams(`block.${i}.mlp`),
    ]).flat(),
    ...normParams('final.norm'),
    ...(tied ? [] : linearParams('head', D, V, 'xavier')),
  ];
  const names = params.map((p) => p.name);
  const p = (params: Record<string, Tensor>, name: string) => paramOf('causal-lm', params, name);

  const normalise = (params: Record<string, Tensor>, prefix: string, x: Tensor) =>
    norm === 'rmsnorm' ? rmsNorm(x, p(params, `${prefix}.gamma`)) : layerNorm(x, p(params, `${prefix}.gamma`), p(params, `${prefix}.beta`));

  /** Causal multi-head self-attention on [B, T, D]; rotary positions turn queries and keys. */
  const attention = (params: Record<string, Tensor>, prefix: string, x: Tensor): Tensor => {
    const qkv = linear('causal-lm', params, `${prefix}.qkv`, x); // [B, T, 3D]
    const [q0, k0, v] = split(qkv, [D, D, D], 2).map((t) => transpose(reshape(t, [0, T, H, dh]), [0, 2, 1, 3])); // [B, H, T, dh]
    const [q, k] = positions === 'rotary' ? [rotary(q0), rotary(k0)] : [q0, k0];
    const scores = mul(matmul(q, transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(dh)); // [B, H, T, T]
    const mixed = matmul(softmax(causalMask(scores), -1), v); // [B, H, T, dh]
    return linear('causal-lm', params, `${prefix}.proj`, reshape(transpose(mixed, [0, 2, 1, 3]), [0, T, D]));
  };

  const mlp = (params: Record<string, Tensor>, prefix: string, x: Tensor): Tensor => {
    const inner =
      mlpKind === 'swiglu'
        ? mul(silu(linear('causal-lm', params, `${prefix}.gate`, x)), linear('causal-lm', params, `${prefix}.up`, x))
        : gelu(linear('causal-lm', params, `${prefix}.fc`, x));
    return linear('causal-lm', params, `${prefix}.proj`, inner);
  };

  /** As transformer.ts: site k's mask seed is dropout.seed * 2^32 + dropout.step * SITES_PER_STEP + k. */
  const dropoutSites = (params: Record<string, Tensor>, mode?: ForwardMode) => {
    if (!mode?.training || rate === 0) return (t: Tensor, _site: number) => t;
    const step = p(params, 'dropout.step');
    if (mode.bufferUpdates) mode.bufferUpdates['dropout.step'] = add(step, 1);
    const seed = cast(p(params, 'dropout.seed'), 'int64');
    const base = add(mul(seed, 2 ** 32), mul(cast(step, 'int64'), SITES_PER_STEP));
    return (t: Tensor, site: number) => dropout(t, rate, add(base, site));
  };

  const label = [
    `causal-lm-${V}v-${T}t-${D}d-${depth}l-${H}h`,
    norm === 'rmsnorm' ? 'rms' : 'ln',
    positions === 'rotary' ? 'rope' : 'pos',
    mlpKind,
    ...(tied ? ['tied'] : []),
  ].join('-');
  return {
    name: label,
    inputDims: [T],
    heads: 1,
    classesPerHead: V,
    targetsPerExample: T,
    params,
    paramsForHead: (head) => {
      if (head !== 0) throw new Error(`causal-lm: head ${head} does not exist; a language model has one head, its vocabulary (head 0)`);
      return names;
    },
    ...(buffers.length > 0 ? { buffers } : {}),
    forward(g: Graph, params: Record<string, Tensor>, x: Tensor, head: number, mode?: ForwardMode): Tensor {
      if (head !== 0) throw new Error(`causal-lm: head ${head} does not exist; a language model has one head, its vocabulary (head 0)`);
      if (x.rank !== 2 || x.dims[1] !== T) throw new Error(`causal-lm: x must be [B, ${T}] token ids, got ${x}`);
      const drop = dropoutSites(params, mode);
      let h = embedding(p(params, 'embed.token'), cast(x, 'int64')); // [B, T, D]
      if (positions === 'learned') h = add(h, p(params, 'embed.position'));
      h = drop(h, 0);
      for (let i = 0; i < depth; i++) {
        h = add(h, drop(attention(params, `block.${i}.attn`, normalise(params, `block.${i}.norm1`, h)), 1 + 2 * i));
        h = add(h, drop(mlp(params, `block.${i}.mlp`, normalise(params, `block.${i}.norm2`, h)), 2 + 2 * i));
      }
      const rows = reshape(normalise(params, 'final.norm', h), [-1, D]); // [B * T, D]
      return tied ? matmul(rows, transpose(p(params, 'embed.token'), [1, 0])) : linear('causal-lm', params, 'head', rows);
    },
  };
}
