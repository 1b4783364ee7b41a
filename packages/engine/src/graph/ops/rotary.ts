import type { Tensor } from '../tensor';
import { add, mul } from './arith';
import { matmul } from './matmul';

/**
 * Rotary position embedding (Su et al. 2021, RoFormer) of queries or keys [..., T, dh], the
 * "rotate half" form of GPT-NeoX and LLaMA: position t rotates the pairs (i, i + dh/2) by
 * t * base^(-2i/dh), so the dot product of a query at t and a key at s depends on t - s only.
 * Composed from differentiable ops with constant cos/sin tables [T, dh] (no parameters).
 * The half rotation (x1, x2) -> (-x2, x1) is a matmul by a constant signed permutation [dh, dh]
 * rather than split + concat: onnxruntime's graph optimizer (level 'basic' and up, 1.24) rewrites
 * the split/concat form's backward inside an attention step into a Gather that fails at run time
 * ("indices element out of data bounds"); the matmul costs dh / (3 D) of the qkv projection.
 */
export function rotary(x: Tensor, base = 10000): Tensor {
  const [T, dh] = x.dims.slice(-2);
  if (x.rank < 2 || typeof T !== 'number' || typeof dh !== 'number' || dh % 2 !== 0)
    throw new Error(`rotary: x must end in static [T, dh] with dh even, got ${x}`);
  const half = dh / 2;
  const cos = new Float64Array(T * dh);
  const sin = new Float64Array(T * dh);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < dh; i++) {
      const angle = t * Math.pow(base, (-2 * (i % half)) / dh);
      cos[t * dh + i] = Math.cos(angle);
      sin[t * dh + i] = Math.sin(angle);
    }
  const table = (values: Float64Array) =>
    x.dtype === 'float64' ? x.graph.constant(values, [T, dh], 'float64') : x.graph.constant(Float32Array.from(values), [T, dh], 'float32');
  // x @ R = (-x2, x1): column i < half takes -x[i + half], column i + half takes x[i].
  const turn = new Float64Array(dh * dh);
  for (let i = 0; i < half; i++) {
    turn[(i + half) * dh + i] = -1;
    turn[i * dh + i + half] = 1;
  }
  const R =
    x.dtype === 'float64' ? x.graph.constant(turn, [dh, dh], 'float64') : x.graph.constant(Float32Array.from(turn), [dh, dh], 'float32');
  return add(mul(x, table(cos)), mul(matmul(x, R), table(sin)));
}
