import type { Tensor } from '../tensor';
import { add, div, mul, sqrt, square, sub } from './arith';
import { reduceMean } from './reduce';
import { reshape } from './shape';

// Normalisations, composed from differentiable ops (so their gradients come from the parts and
// float64 checks apply). Channel axis 1, as PyTorch: [N, C] or [N, C, H, W].

/** Reshapes a per-channel vector [C] so it broadcasts over `x` along axis 1. */
function perChannel(v: Tensor, x: Tensor): Tensor {
  return x.rank === 2 ? v : reshape(v, [-1, ...Array(x.rank - 2).fill(1)]);
}

function checkChannels(op: string, x: Tensor, vectors: Record<string, Tensor>): void {
  if (x.rank !== 2 && x.rank !== 4) throw new Error(`${op}: input must be [N, C] or [N, C, H, W], got ${x}`);
  for (const [k, v] of Object.entries(vectors))
    if (v.rank !== 1 || v.dims[0] !== x.dims[1]) throw new Error(`${op}: ${k} must be [${x.dims[1]}] (one per channel of ${x}), got ${v}`);
}

export interface BatchNormTrain {
  /** The normalised, scaled and shifted output. */
  out: Tensor;
  /** Batch mean per channel [C]. */
  mean: Tensor;
  /** Biased batch variance per channel [C] (what the normalisation divides by). */
  variance: Tensor;
}

/**
 * Batch normalisation in training mode: normalises with the batch's own statistics, whose
 * gradients flow too. Returns the batch statistics so the caller can update running ones
 * (see `runningStats`).
 */
export function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): BatchNormTrain {
  checkChannels('batchNormTrain', x, { gamma, beta });
  const axes = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)];
  const mu = reduceMean(x, axes, true);
  const centered = sub(x, mu);
  const variance = reduceMean(square(centered), axes, true);
  const normed = div(centered, sqrt(add(variance, eps)));
  const out = add(mul(normed, perChannel(gamma, x)), perChannel(beta, x));
  return { out, mean: reshape(mu, [-1]), variance: reshape(variance, [-1]) };
}

/** Batch normalisation in eval mode: normalises with running statistics (inputs, not trained). */
export function batchNormEval(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, eps = 1e-5): Tensor {
  checkChannels('batchNormEval', x, { gamma, beta, runningMean, runningVar });
  const normed = div(sub(x, perChannel(runningMean, x)), sqrt(add(perChannel(runningVar, x), eps)));
  return add(mul(normed, perChannel(gamma, x)), perChannel(beta, x));
}

/**
 * PyTorch's running-statistics update: running = (1 - momentum) * running + momentum * batch,
 * with the batch variance made unbiased (times n / (n - 1), n = elements per channel).
 * `count` is n; it must be > 1.
 */
export function runningStats(
  running: { mean: Tensor; variance: Tensor },
  batch: { mean: Tensor; variance: Tensor },
  count: Tensor,
  momentum = 0.1,
): { mean: Tensor; variance: Tensor } {
  const unbiased = div(mul(batch.variance, count), sub(count, 1));
  return {
    mean: add(mul(running.mean, 1 - momentum), mul(batch.mean, momentum)),
    variance: add(mul(running.variance, 1 - momentum), mul(unbiased, momentum)),
  };
}

/** Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta, gamma and beta [D]. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const d = x.dims[x.rank - 1];
  for (const [k, v] of Object.entries({ gamma, beta }))
    if (v.rank !== 1 || v.dims[0] !== d) throw new Error(`layerNorm: ${k} must be [${d}] (the last axis of ${x}), got ${v}`);
  const centered = sub(x, reduceMean(x, [-1], true));
  const normed = div(centered, sqrt(add(reduceMean(square(centered), [-1], true), eps)));
  return add(mul(normed, gamma), beta);
}

/**
 * RMS normalisation over the last axis (Zhang & Sennrich 2019, as LLaMA): x / sqrt(mean(x^2) + eps)
 * * gamma, gamma [D]; no centring and no shift, so it is cheaper than layerNorm by one reduction.
 */
export function rmsNorm(x: Tensor, gamma: Tensor, eps = 1e-6): Tensor {
  const d = x.dims[x.rank - 1];
  if (gamma.rank !== 1 || gamma.dims[0] !== d) throw new Error(`rmsNorm: gamma must be [${d}] (the last axis of ${x}), got ${gamma}`);
  return mul(div(x, sqrt(add(reduceMean(square(x), [-1], true), eps))), gamma);
}
