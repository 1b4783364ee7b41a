import { add, matmul, type Tensor } from '../graph';
import type { ParamSpec } from './model';

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
