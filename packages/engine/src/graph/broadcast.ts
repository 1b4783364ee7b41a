import { reduceSum } from './ops/reduce';
import type { Dim, Tensor } from './tensor';

/**
 * Numpy broadcasting of two shapes. Symbolic dims broadcast with 1 or with the same name; a
 * symbolic dim against a size other than 1 is taken to be that size.
 */
export function broadcastDims(a: readonly Dim[], b: readonly Dim[], what = 'broadcast'): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === 'number' && typeof y === 'string') out.push(x);
    else if (typeof x === 'string' && typeof y === 'number') out.push(y);
    else throw new Error(`${what}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (axis ${i}: ${x} vs ${y})`);
  }
  return out;
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
