import type { Graph } from '../graph';
import type { Tensor } from '../tensor';

/** Turns a JS number into a scalar constant of `like`'s dtype, so ops accept `add(x, 1)`. */
export function lift(x: Tensor | number, like: Tensor): Tensor {
  return typeof x === 'number' ? like.graph.scalar(x, like.dtype) : x;
}

export function sameGraphAndType(op: string, a: Tensor, b: Tensor): Graph {
  if (a.graph !== b.graph) throw new Error(`${op}: operands ${a} and ${b} come from different graphs`);
  if (a.dtype !== b.dtype) throw new Error(`${op}: operand dtypes differ (${a} vs ${b}); cast one first`);
  return a.graph;
}

/** Normalizes an axis (negative counts from the end) and checks it is in range for `rank`. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function int64s(g: Graph, values: readonly number[]): Tensor {
  return g.constant(
    BigInt64Array.from(values, (v) => BigInt(v)),
    [values.length],
    'int64',
  );
}
