import { add, batchNormEval, batchNormTrain, countOf, matmul, runningStats, type Tensor } from '../graph';
import type { BufferSpec, ForwardMode, ParamSpec } from './model';

// Pieces every model here shares: parameter lookup, linear layers, per-task heads.

/** The tensor for parameter `name`, or an error naming it (a forward called with the wrong params). */
export function paramOf(model: string, params: Record<string, Tensor>, name: string): Tensor {
  const t = params[name];
  if (!t) throw new Error(`${model} forward: parameter '${name}' is missing; pass every name of paramsForHead(head)`);
  return t;
}

/** A linear layer's params, weight [in, out] (x @ W + b, no transpose) and bias [out]. */
export function linearParams(prefix: string, inputs: number, outputs: number, init: ParamSpec['init']): ParamSpec[] {
  return [
    { name: `${prefix}.weight`, dims: [inputs, outputs], init },
    { name: `${prefix}.bias`, dims: [outputs], init: 'zeros' },
  ];
}

export function linear(model: string, params: Record<string, Tensor>, prefix: string, x: Tensor): Tensor {
  return add(matmul(x, paramOf(model, params, `${prefix}.weight`)), paramOf(model, params, `${prefix}.bias`));
}

/**
 * One linear head per task ('head.<h>') or a single shared head: the params of each and the
 * index check. With one head every task uses head 0.
 */
export function taskHeads(model: string, heads: number, inputs: number, classes: number) {
  const params = Array.from({ length: heads }, (_, h) => linearParams(`head.${h}`, inputs, classes, 'xavier'));
  const index = (head: number): number => {
    if (heads === 1) return 0;
    if (!Number.isInteger(head) || head < 0 || head >= heads)
      throw new Error(`${model}: head ${head} does not exist; this model has heads 0..${heads - 1}`);
    return head;
  };
  return { params, index, prefix: (head: number) => `head.${index(head)}` };
}

export function checkPositiveIntegers(model: string, values: Record<string, number>): void {
  for (const [key, v] of Object.entries(values))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${model}: ${key} must be a positive integer, got ${v}`);
}

/** A batch-norm layer's trained params ('<prefix>.gamma', '.beta') and buffers ('.running_mean', '.running_var'). */
export function batchNormSpecs(
  prefix: string,
  channels: number,
  gamma: 'ones' | 'zeros' = 'ones',
): { params: ParamSpec[]; buffers: BufferSpec[] } {
  return {
    params: [
      { name: `${prefix}.gamma`, dims: [channels], init: gamma },
      { name: `${prefix}.beta`, dims: [channels], init: 'zeros' },
    ],
    buffers: [
      { name: `${prefix}.running_mean`, dims: [channels], init: 'zeros' },
      { name: `${prefix}.running_var`, dims: [channels], init: 'ones' },
    ],
  };
}

/**
 * Batch norm over axis 1 as PyTorch's BatchNorm (momentum 0.1, eps 1e-5): in training, batch
 * statistics, and the running ones' next values go to mode.bufferUpdates; otherwise the running ones.
 */
export function batchNormLayer(model: string, params: Record<string, Tensor>, prefix: string, x: Tensor, mode?: ForwardMode): Tensor {
  const p = (n: string) => paramOf(model, params, `${prefix}.${n}`);
  const running = { mean: p('running_mean'), variance: p('running_var') };
  if (!mode?.training) return batchNormEval(x, p('gamma'), p('beta'), running.mean, running.variance);
  const batch = batchNormTrain(x, p('gamma'), p('beta'));
  if (mode.bufferUpdates) {
    const next = runningStats(running, batch, countOf(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)]));
    mode.bufferUpdates[`${prefix}.running_mean`] = next.mean;
    mode.bufferUpdates[`${prefix}.running_var`] = next.variance;
  }
  return batch.out;
}
