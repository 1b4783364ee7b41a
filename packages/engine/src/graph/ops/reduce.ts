import { withGrad, type Tensor } from '../tensor';
import { div } from './arith';
import { countOf } from './nondiff';
import { expandTo, unsqueeze } from './shape';
import { int64s, normAxis } from './util';

function reduce(op: 'ReduceSum' | 'ReduceMean', x: Tensor, axes: number[] | undefined, keepdims: boolean) {
  const ax = [...new Set((axes ?? [...x.dims.keys()]).map((a) => normAxis(op, a, x.rank)))].sort((p, q) => p - q);
  const dims = keepdims ? x.dims.map((d, i) => (ax.includes(i) ? 1 : d)) : x.dims.filter((_, i) => !ax.includes(i));
  const out = x.graph.node(op, [x, int64s(x.graph, ax)], { dims, dtype: x.dtype }, { keepdims: keepdims ? 1 : 0 });
  // Gradient: put the reduced axes back (size 1) and broadcast over them.
  const spread = (g: Tensor) => expandTo(keepdims ? g : unsqueeze(g, ax), x);
  return { out, ax, spread };
}

/** Sums over `axes` (all axes when omitted); keepdims=false drops them, as numpy does. */
export function reduceSum(x: Tensor, axes?: number[], keepdims = false): Tensor {
  const { out, spread } = reduce('ReduceSum', x, axes, keepdims);
  return withGrad(out, [x], [spread]);
}

/** Mean over `axes` (all axes when omitted). Symbolic dims (a batch) are counted at run time. */
export function reduceMean(x: Tensor, axes?: number[], keepdims = false): Tensor {
  const { out, ax, spread } = reduce('ReduceMean', x, axes, keepdims);
  return withGrad(out, [x], [(g) => div(spread(g), countOf(x, ax))]);
}

/** Sum of all elements (a scalar). */
export function sum(x: Tensor): Tensor {
  return reduceSum(x);
}

/** Mean of all elements (a scalar). */
export function mean(x: Tensor): Tensor {
  return reduceMean(x);
}
