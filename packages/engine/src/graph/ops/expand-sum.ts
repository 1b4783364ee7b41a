import { broadcastDims } from '../broadcast';
import { withGrad, type Dim, type Tensor } from '../tensor';
import { shapeInput, unsqueeze } from './shape';
import { int64s, normAxis } from './util';

// Broadcasting and summing are each other's gradient: expandTo's is a sum over the broadcast axes
// (unbroadcast), reduceSum's an expand back over the summed ones. They live together so that the
// ops using unbroadcast (arith, matmul, select, ...) import downwards only.

/** Broadcasts `x` to the shape of `like` (numpy rules). */
export function expandTo(x: Tensor, like: Tensor): Tensor {
  const out = x.graph.node('Expand', [x, shapeInput(like)], { dims: broadcastDims(x.dims, like.dims, 'expand'), dtype: x.dtype });
  return withGrad(out, [x], [(g) => unbroadcast(g, x.dims)]);
}

/** A ReduceSum or ReduceMean node over `axes`, and the gradient's spread back over them (shared with reduceMean). */
export function reduce(op: 'ReduceSum' | 'ReduceMean', x: Tensor, axes: number[] | undefined, keepdims: boolean) {
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

/**
 * The gradient of a broadcast operand: sums `grad` over the axes broadcasting added (leading
 * axes) or stretched (size-1 axes), so it has `dims` again. Every broadcasting op uses this.
 */
export function unbroadcast(grad: Tensor, dims: readonly Dim[]): Tensor {
  let g = grad;
  const lead = g.rank - dims.length;
  if (lead > 0) g = reduceSum(g, [...Array(lead).keys()], false);
  const stretched = dims.flatMap((d, i) => (d === 1 && g.dims[i] !== 1 ? [i] : []));
  if (stretched.length > 0) g = reduceSum(g, stretched, true);
  return g;
}
