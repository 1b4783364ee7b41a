import { broadcastDims } from '../broadcast';
import { withGrad, type Tensor } from '../tensor';
import { cast } from './nondiff';
import { transpose } from './shape';
import { sameGraphAndType } from './util';
import { unbroadcast } from './expand-sum';

/** Swaps the last two axes (the matrix transpose of a batch of matrices). */
function mT(x: Tensor): Tensor {
  const perm = [...x.dims.keys()];
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

/** Matrix product with numpy semantics for leading (batch) axes; both operands need rank >= 2. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const g = sameGraphAndType('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: operands need rank >= 2, got ${a} and ${b}; reshape vectors to matrices`);
  const [m, k1] = a.dims.slice(-2);
  const [k2, n] = b.dims.slice(-2);
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new Error(`matmul: inner dimensions differ: ${a} @ ${b}`);
  }
  const batch = broadcastDims(a.dims.slice(0, -2), b.dims.slice(0, -2), 'matmul');
  const dims = [...batch, m, n];
  const low = g.matmulPrecision;
  // Mixed precision: the product of the operands rounded to `low`, back in float32; the gradient
  // rules below are matmuls too, so the backward pass multiplies in `low` alike.
  const out =
    low !== 'float32' && a.dtype === 'float32'
      ? cast(g.node('MatMul', [cast(a, low), cast(b, low)], { dims, dtype: low }), 'float32')
      : g.node('MatMul', [a, b], { dims, dtype: a.dtype });
  return withGrad(out, [a, b], [(gy) => unbroadcast(matmul(gy, mT(b)), a.dims), (gy) => unbroadcast(matmul(mT(a), gy), b.dims)]);
}
