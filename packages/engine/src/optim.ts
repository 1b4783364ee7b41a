import { add, div, mul, sqrt, sub, type Graph, type Tensor } from './graph';
import type { ParamSpec } from './models/model';
import type { TensorMap } from './tensor';

/**
 * Optimizers, with PyTorch's update rules (so numbers compare with the literature):
 * - sgd: g += wd * p; v = momentum * v + g; d = nesterov ? g + momentum * v : v; p -= lr * d
 *   (no momentum: p -= lr * g, and no state)
 * - adam: g += wd * p (L2, as torch.optim.Adam); m, v moving averages; bias-corrected with step t.
 */
export type OptimizerConfig =
  | { name: 'sgd'; momentum?: number; nesterov?: boolean; weightDecay?: number }
  | { name: 'adam'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };

/** The optimizer's state tensors for `params`: 'm.<param>' (momentum / first moment), 'v.<param>', 'adam.t'. */
export function optimizerStateSpecs(opt: OptimizerConfig, params: ParamSpec[]): ParamSpec[] {
  const like = (prefix: string) => params.map((p): ParamSpec => ({ name: `${prefix}.${p.name}`, dims: [...p.dims], init: 'zeros' }));
  switch (opt.name) {
    case 'sgd':
      return (opt.momentum ?? 0) > 0 ? like('m') : [];
    case 'adam':
      return [...like('m'), ...like('v'), { name: 'adam.t', dims: [], init: 'zeros' }];
    default:
      throw new Error(`unknown optimizer '${(opt as { name: string }).name}'; use 'sgd' or 'adam'`);
  }
}

/** Zero-initialised optimizer state, as the first step expects. */
export function initOptimizerState(opt: OptimizerConfig, params: ParamSpec[]): TensorMap {
  const out: TensorMap = {};
  for (const s of optimizerStateSpecs(opt, params))
    out[s.name] = { dims: s.dims, data: new Float32Array(s.dims.reduce((a, b) => a * b, 1)) };
  return out;
}

export interface ParamUpdate {
  name: string;
  value: Tensor;
  grad: Tensor;
}

/**
 * Appends the update to the graph. `state` holds the inputs named as optimizerStateSpecs says;
 * returns the new value of every param and state tensor, keyed by name.
 */
export function applyOptimizer(
  g: Graph,
  opt: OptimizerConfig,
  params: ParamUpdate[],
  state: Record<string, Tensor>,
  lr: Tensor,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const wd = opt.weightDecay ?? 0;
  const decayed = (p: ParamUpdate) => (wd > 0 ? add(p.grad, mul(p.value, wd)) : p.grad);
  const stateOf = (name: string) => {
    const t = state[name];
    if (!t) throw new Error(`optimizer state '${name}' is missing from the step graph inputs`);
    return t;
  };

  if (opt.name === 'sgd') {
    const momentum = opt.momentum ?? 0;
    for (const p of params) {
      let d = decayed(p);
      if (momentum > 0) {
        const v = add(mul(stateOf(`m.${p.name}`), momentum), d);
        out[`m.${p.name}`] = v;
        d = opt.nesterov ? add(d, mul(v, momentum)) : v;
      }
      out[p.name] = sub(p.value, mul(d, lr));
    }
    return out;
  }

  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = opt;
  const t = add(stateOf('adam.t'), 1);
  out['adam.t'] = t;
  const correction = (beta: number) =>
    sub(g.scalar(1, 'float32'), g.node('Pow', [g.scalar(beta, 'float32'), t], { dims: [], dtype: 'float32' }));
  const stepSize = div(lr, correction(beta1)); // lr / (1 - beta1^t)
  const sqrtCorrection2 = sqrt(correction(beta2));
  for (const p of params) {
    const grad = decayed(p);
    const m = add(mul(stateOf(`m.${p.name}`), beta1), mul(grad, 1 - beta1));
    const v = add(mul(stateOf(`v.${p.name}`), beta2), mul(mul(grad, grad), 1 - beta2));
    out[`m.${p.name}`] = m;
    out[`v.${p.name}`] = v;
    const denom = add(div(sqrt(v), sqrtCorrection2), eps);
    out[p.name] = sub(p.value, mul(div(m, denom), stepSize));
  }
  return out;
}
