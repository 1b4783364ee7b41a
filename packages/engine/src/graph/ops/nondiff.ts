import { DATA_TYPE, type DType } from '../../onnx/proto';
import { broadcastDims } from '../broadcast';
import type { Tensor } from '../tensor';
import { int64s, lift, normAxis } from './util';
import { numel } from '../../tensor';

// Ops without gradients: comparisons, shapes, casts, argmax. Their outputs are leaves
// for the autodiff walk.

/** Index of the largest value along `axis` (int64), e.g. predicted classes from logits. */
export function argmax(x: Tensor, axis = -1, keepdims = false): Tensor {
  const a = normAxis('argmax', axis, x.rank);
  const dims = keepdims ? x.dims.map((d, i) => (i === a ? 1 : d)) : x.dims.filter((_, i) => i !== a);
  return x.graph.node('ArgMax', [x], { dims, dtype: 'int64' }, { axis: a, keepdims: keepdims ? 1 : 0 });
}

export function greater(a: Tensor, b: Tensor | number): Tensor {
  const y = lift(b, a);
  return a.graph.node('Greater', [a, y], { dims: broadcastDims(a.dims, y.dims, 'greater'), dtype: 'bool' });
}

export function equal(a: Tensor, b: Tensor): Tensor {
  return a.graph.node('Equal', [a, b], { dims: broadcastDims(a.dims, b.dims, 'equal'), dtype: 'bool' });
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return x.graph.node('Cast', [x], { dims: x.dims, dtype }, { to: DATA_TYPE[dtype] });
}

/** The runtime shape of `x` as an int64 vector (for ops whose target shape has symbolic dims). */
export function shapeOf(x: Tensor): Tensor {
  return x.graph.node('Shape', [x], { dims: [x.rank], dtype: 'int64' });
}

/** The number of elements of `x` over `axes` as a scalar of x's dtype; a constant when those dims are static. */
export function countOf(x: Tensor, axes: readonly number[]): Tensor {
  const dims = axes.map((a) => x.dims[a]);
  if (dims.every((d): d is number => typeof d === 'number')) return x.graph.scalar(numel(dims), x.dtype);
  const picked = x.graph.node('Gather', [shapeOf(x), int64s(x.graph, axes)], { dims: [axes.length], dtype: 'int64' }, { axis: 0 });
  const n = x.graph.node('ReduceProd', [picked], { dims: [], dtype: 'int64' }, { keepdims: 0 });
  return cast(n, x.dtype);
}

/** A tensor of `x`'s shape and dtype filled with `value`. */
export function fillLike(x: Tensor, value: number): Tensor {
  const g = x.graph;
  const fill = g.constant(x.dtype === 'int64' ? new BigInt64Array([BigInt(value)]) : [value], [1], x.dtype);
  const shape = x.dims.every((d) => typeof d === 'number') ? int64s(g, x.dims as number[]) : shapeOf(x);
  return g.node('ConstantOfShape', [shape], x, { value: { tensor: fill } });
}
