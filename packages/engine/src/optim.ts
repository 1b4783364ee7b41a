import type { Graph, Tensor } from './graph';
import type { ParamSpec } from './models/model';
import { numel, type TensorMap } from './tensor';

/**
 * Optimizers, with PyTorch's update rules (so numbers compare with the literature):
 * - sgd: g += wd * p; v = momentum * v + g; d = nesterov ? g + momentum * v : v; p -= lr * d
 *   (no momentum: p -= lr * g, and no state)
 * - adam: g += wd * p (L2, as torch.optim.Adam); m, v moving averages; bias-corrected with step t.
 * - adamw: as adam without the L2 term; instead p *= 1 - lr * wd before the update (decoupled
 *   weight decay, torch.optim.AdamW; its default wd is 0.01).
 * Every optimizer takes `maxGradNorm`: gradients are first scaled by min(1, maxGradNorm /
 * (norm + 1e-6)), norm being the global L2 norm over all updated params (torch's clip_grad_norm_).
 * The learning rate is a graph input, so a schedule (see schedule.ts) needs no new graph.
 */
export type OptimizerConfig =
  | { name: 'sgd'; momentum?: number; nesterov?: boolean; weightDecay?: number; maxGradNorm?: number }
  | { name: 'adam'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; maxGradNorm?: number }
  | { name: 'adamw'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; maxGradNorm?: number };

export const ADAMW_DEFAULT_WEIGHT_DECAY = 0.01;

/**
 * The optimizer's state tensors for `params`: 'm.<param>' (SGD momentum buffer; Adam's first moment
 * divided by 1 - beta1), 'v.<param>' (Adam's second moment divided by 1 - beta2), 'adam.t'.
 */
export function optimizerStateSpecs(opt: OptimizerConfig, params: ParamSpec[]): ParamSpec[] {
  const like = (prefix: string) => params.map((p): ParamSpec => ({ name: `${prefix}.${p.name}`, dims: [...p.dims], init: 'zeros' }));
  switch (opt.name) {
    case 'sgd':
      return (opt.momentum ?? 0) > 0 ? like('m') : [];
    case 'adam':
    case 'adamw':
      return [...like('m'), ...like('v'), { name: 'adam.t', dims: [], init: 'zeros' }];
    default:
      throw new Error(`unknown optimizer '${(opt as { name: string }).name}'; use 'sgd', 'adam' or 'adamw'`);
  }
}

/** Zero-initialised optimizer state, as the first step expects. */
export function initOptimizerState(opt: OptimizerConfig, params: ParamSpec[]): TensorMap {
  const out: TensorMap = {};
  for (const s of optimizerStateSpecs(opt, params)) out[s.name] = { dims: s.dims, data: new Float32Array(numel(s.dims)) };
  return out;
}

export interface ParamUpdate {
  name: string;
  value: Tensor;
  grad: Tensor;
}

/**
 * Appends the update to the graph. `state` holds the inputs named as optimizerStateSpecs says;
 * returns the new value of every param and state tensor, keyed by name. The update is never
 * differentiated, so it emits plain ONNX nodes (no gradient rules).
 */
export function applyOptimizer(
  g: Graph,
  opt: OptimizerConfig,
  params: ParamUpdate[],
  state: Record<string, Tensor>,
  lr: Tensor,
): Record<string, Tensor> {
  const e = elementwise(g);
  const out: Record<string, Tensor> = {};
  const stateOf = (name: string) => {
    const t = state[name];
    if (!t) throw new Error(`optimizer state '${name}' is missing from the step graph inputs`);
    return t;
  };
  const grads = clipByGlobalNorm(g, params, opt.maxGradNorm);
  const l2 = opt.name === 'adamw' ? 0 : (opt.weightDecay ?? 0);
  const decayed = (p: ParamUpdate, i: number) => (l2 > 0 ? e.add(grads[i], e.mul(p.value, e.c(l2))) : grads[i]);

  if (opt.name === 'sgd') {
    const momentum = opt.momentum ?? 0;
    params.forEach((p, i) => {
      let d = decayed(p, i);
      if (momentum > 0) {
        const v = e.add(e.mul(stateOf(`m.${p.name}`), e.c(momentum)), d);
        out[`m.${p.name}`] = v;
        d = opt.nesterov ? e.add(d, e.mul(v, e.c(momentum))) : v;
      }
      out[p.name] = e.sub(p.value, e.mul(d, lr));
    });
    return out;
  }

  // Adam keeps its moments scaled, m / (1 - beta1) and v / (1 - beta2), so each moment update is
  // one pass fewer (m' = beta1 * m + g, v' = beta2 * v + g * g), and folds every scalar factor
  // into two per-step scalars: p' = p - stepSize * m' / (sqrt(v') + epsHat) with
  //   stepSize = lr * (1 - beta1) * sqrt(1 - beta2^t) / ((1 - beta1^t) * sqrt(1 - beta2)),
  //   epsHat   = eps * sqrt(1 - beta2^t) / sqrt(1 - beta2),
  // which is torch's update rearranged (10 elementwise passes per param instead of 13).
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = opt;
  const t = e.add(stateOf('adam.t'), e.c(1));
  out['adam.t'] = t;
  const correction = (beta: number) => e.sub(e.c(1), g.node('Pow', [e.c(beta), t], { dims: [], dtype: 'float32' }));
  const sqrtCorrection2 = e.op('Sqrt', [correction(beta2)]);
  const stepSize = e.div(e.mul(lr, e.mul(sqrtCorrection2, e.c((1 - beta1) / Math.sqrt(1 - beta2)))), correction(beta1));
  const epsHat = e.mul(sqrtCorrection2, e.c(eps / Math.sqrt(1 - beta2)));
  // AdamW shrinks p by (1 - lr * wd) before the step, as torch.optim.AdamW does.
  const shrink = opt.name === 'adamw' ? e.sub(e.c(1), e.mul(lr, e.c(opt.weightDecay ?? ADAMW_DEFAULT_WEIGHT_DECAY))) : undefined;
  params.forEach((p, i) => {
    const grad = decayed(p, i);
    const m = e.add(e.mul(stateOf(`m.${p.name}`), e.c(beta1)), grad);
    const v = e.add(e.mul(stateOf(`v.${p.name}`), e.c(beta2)), e.mul(grad, grad));
    out[`m.${p.name}`] = m;
    out[`v.${p.name}`] = v;
    const base = shrink ? e.mul(p.value, shrink) : p.value;
    out[p.name] = e.sub(base, e.mul(e.div(m, e.add(e.op('Sqrt', [v]), epsHat)), stepSize));
  });
  return out;
}

/** Gradients scaled by min(1, maxNorm / (globalNorm + 1e-6)); unchanged when maxNorm is undefined. */
function clipByGlobalNorm(g: Graph, params: ParamUpdate[], maxNorm: number | undefined): Tensor[] {
  if (maxNorm === undefined) return params.map((p) => p.grad);
  if (!(maxNorm > 0)) throw new Error(`optimizer.maxGradNorm must be a positive number, got ${maxNorm}`);
  const e = elementwise(g);
  const squares = params.map((p) => g.node('ReduceSumSquare', [p.grad], { dims: [], dtype: 'float32' }, { keepdims: 0 }));
  const total = squares.length === 1 ? squares[0] : g.node('Sum', squares, { dims: [], dtype: 'float32' });
  const coef = e.op('Min', [e.div(e.c(maxNorm), e.add(e.op('Sqrt', [total]), e.c(1e-6))), e.c(1)]);
  return params.map((p) => e.mul(p.grad, coef));
}

/** Plain float32 ONNX elementwise nodes; the result takes the shape of the first (larger) operand. */
function elementwise(g: Graph) {
  const op = (type: string, inputs: Tensor[]) => {
    const big = inputs.reduce((a, b) => (b.rank > a.rank ? b : a));
    return g.node(type, inputs, { dims: big.dims, dtype: 'float32' });
  };
  return {
    op,
    c: (v: number) => g.scalar(v, 'float32'),
    add: (a: Tensor, b: Tensor) => op('Add', [a, b]),
    sub: (a: Tensor, b: Tensor) => op('Sub', [a, b]),
    mul: (a: Tensor, b: Tensor) => op('Mul', [a, b]),
    div: (a: Tensor, b: Tensor) => op('Div', [a, b]),
  };
}
